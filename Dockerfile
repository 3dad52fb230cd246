# Builds a static lockstream binary and runs it as a non-root user on
# distroless. Build:
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t lockstream .
# Run (the admin token and master key come from the environment):
#   docker run -p 8080:8080 -v "$PWD/media:/media:ro" -v lockstream-data:/data \
#     -e LOCKSTREAM_ADMIN_TOKEN=... lockstream

FROM golang:1.26.8-bookworm AS build
WORKDIR /src

# Modules first, so this layer stays cached while only sources change.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
# An ARG is scoped to the stage that declares it.
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath \
	-ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
	-o /out/lockstream ./cmd/lockstream

# The data folder must exist and belong to the runtime user before the
# volume is mounted, so Docker copies that ownership into a new volume.
RUN mkdir -p /out/data && chown 65532:65532 /out/data && chmod 700 /out/data

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="lockstream" \
	org.opencontainers.image.version="${VERSION}"

COPY --from=build /out/lockstream /usr/local/bin/lockstream
COPY --from=build --chown=65532:65532 /out/data /data

# distroless "nonroot" is uid and gid 65532.
USER 65532:65532
VOLUME ["/media", "/data"]
EXPOSE 8080

# distroless has no shell or curl, so there is no HEALTHCHECK here;
# orchestrators should probe GET /healthz (liveness) and GET /readyz
# (readiness) on port 8080.
ENTRYPOINT ["lockstream", "serve", "--listen", ":8080", "--media", "/media", "--data", "/data"]
