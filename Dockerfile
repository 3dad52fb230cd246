# Builds a static lockstream binary and runs it as a non-root user on
# distroless. .git is not in the build context, so the version and commit
# come in as build arguments:
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) \
#     --build-arg COMMIT=$(git rev-parse --short HEAD) -t lockstream .
# Run (the admin token and master key come from the environment):
#   docker run -p 8080:8080 -v "$PWD/media:/media:ro" -v lockstream-data:/data \
#     -e LOCKSTREAM_ADMIN_TOKEN=... lockstream
#
# The Go image is pinned by exact tag. distroless publishes no version
# tags, so its :nonroot tag moves. For reproducible builds pin both by
# digest (image:tag@sha256:...) as the registry you pull from serves them.

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
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="lockstream" \
	org.opencontainers.image.version="${VERSION}" \
	org.opencontainers.image.revision="${COMMIT}"

COPY --from=build /out/lockstream /usr/local/bin/lockstream
COPY --from=build --chown=65532:65532 /out/data /data

# distroless "nonroot" is uid and gid 65532.
USER 65532:65532
VOLUME ["/media", "/data"]
EXPOSE 8080

# The container's defaults for serve. serve layers defaults, config file,
# environment and flags, each over the one before, so:
#   - override one with -e, such as -e LOCKSTREAM_MEDIA=s3://bucket/media;
#   - a config file (-e LOCKSTREAM_CONFIG=/config/lockstream.yaml) sets
#     every other key, but not these three, because the environment wins
#     over the file;
#   - flags after the image name win over all: docker run lockstream serve
#     --listen :9090.
# Any other subcommand runs in place of serve: docker run lockstream version.
ENV LOCKSTREAM_LISTEN=:8080 \
	LOCKSTREAM_MEDIA=/media \
	LOCKSTREAM_DATA=/data

# distroless has no shell or curl, so there is no HEALTHCHECK here;
# orchestrators should probe GET /healthz (liveness) and GET /readyz
# (readiness) on port 8080.
ENTRYPOINT ["lockstream"]
CMD ["serve"]
