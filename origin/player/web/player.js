// Lockstream demo player. It plays one HLS, DASH or Smooth Streaming URL with
// hls.js, Shaka Player or dash.js, shows the playback state in plain words and
// publishes it as window.lockstreamPlayer for browser tests.
//
// Query parameters:
//   url      manifest URL (required)
//   format   hls | dash | smooth; detected from the URL when missing
//   player   shaka (default) | dashjs, for DASH; Smooth always uses dash.js
//   token    JWT sent as "Authorization: Bearer <jwt>" on key and license
//            requests only; aestoken=Bearer=<jwt> is accepted too
//   license  ClearKey license URL for DASH when the MPD carries none, and
//            for Smooth Streaming, whose manifest never carries one; Smooth
//            defaults to /keys/clearkey on the manifest's origin
//
// The token never appears in the page text or in console output, and it is
// removed from the address bar once read.

const video = document.getElementById('video');

const status = {
  state: 'loading',
  error: '',
  errorCode: '',
  keyStatus: 0,
  rendition: null,
  renditions: [],
  format: '',
  player: '',
  setRendition: () => false,
  seek,
};
window.lockstreamPlayer = status;

const stateText = {
  loading: 'Loading',
  playing: 'Playing',
  paused: 'Paused',
  ended: 'Ended',
  error: 'Error',
};

// ---- parameters ----

function readParams() {
  const params = new URLSearchParams(location.search);
  const url = params.get('url') || '';
  const token = readToken(params);

  if (params.has('token') || params.has('aestoken')) {
    params.delete('token');
    params.delete('aestoken');
    const query = params.toString();
    history.replaceState(null, '', location.pathname + (query ? '?' + query : ''));
  }

  return {
    url,
    token,
    format: (params.get('format') || detectFormat(url)).toLowerCase(),
    player: (params.get('player') || 'shaka').toLowerCase(),
    license: params.get('license') || '',
  };
}

// readToken accepts token=<jwt> and the hosted service's aestoken=Bearer=<jwt>
// (URL-encoded as Bearer%3D<jwt>), with or without the "Bearer" prefix.
function readToken(params) {
  const raw = (params.get('token') || params.get('aestoken') || '').trim();
  return raw.replace(/^Bearer[=\s]+/i, '');
}

// detectFormat follows the streaming URL scheme: format=m3u8-* or .m3u8 is HLS,
// format=mpd-* or .mpd is DASH, and .../manifest with no format option (bare,
// or with other options such as encryption=cenc) is Smooth Streaming.
function detectFormat(url) {
  let path = url;
  try {
    path = decodeURIComponent(new URL(url, location.href).pathname);
  } catch {
    // Keep the raw text: detection below still works on it.
  }
  if (/format=m3u8-/i.test(path) || /\.m3u8$/i.test(path)) {
    return 'hls';
  }
  if (/format=mpd-/i.test(path) || /\.mpd$/i.test(path)) {
    return 'dash';
  }
  if (/\/manifest(\([^)]*\))?$/i.test(path)) {
    return 'smooth';
  }
  return '';
}

// ---- status display ----

function setState(state) {
  if (status.state === 'error') {
    return;
  }
  status.state = state;
  document.getElementById('state').textContent = stateText[state] || state;
}

function fail(code, message) {
  if (status.state === 'error') {
    return;
  }
  status.error = message;
  status.errorCode = code;
  setState('error');
  const el = document.getElementById('error');
  el.textContent = message;
  el.hidden = false;
}

function noteKeyStatus(httpStatus) {
  status.keyStatus = httpStatus;
}

// keyErrorMessage turns a key or license HTTP status into a sentence.
function keyErrorMessage(httpStatus) {
  switch (httpStatus) {
    case 0:
      return 'The key server could not be reached (network or CORS error).';
    case 401:
      return 'The key server requires a valid token (HTTP 401).';
    case 403:
      return 'The key server refused the token (HTTP 403).';
    case 404:
      return 'The key server does not know this key (HTTP 404).';
    default:
      return `The key request failed (HTTP ${httpStatus}).`;
  }
}

function failKey(httpStatus) {
  if (typeof httpStatus === 'number') {
    noteKeyStatus(httpStatus);
  }
  const code = status.keyStatus === 401 || status.keyStatus === 403 ? 'key_denied' : 'key_load';
  fail(code, keyErrorMessage(status.keyStatus));
}

function formatTime(seconds) {
  const whole = Math.floor(seconds);
  const minutes = Math.floor(whole / 60);
  const rest = seconds - minutes * 60;
  return `${minutes}:${rest.toFixed(1).padStart(4, '0')}`;
}

function describeRendition(r) {
  if (!r) {
    return 'not known yet';
  }
  const size = r.width && r.height ? `${r.width}×${r.height}` : 'audio only';
  const kbps = r.bitrate ? `${Math.round(r.bitrate / 1000)} kbit/s` : 'bitrate not known';
  return `${size}, ${kbps}`;
}

function showRenditions(list, current) {
  status.renditions = list;
  status.rendition = current;
  document.getElementById('rendition').textContent = describeRendition(current);

  const select = document.getElementById('renditions');
  if (select.options.length !== list.length + 1) {
    select.length = 1;
    list.forEach((r, i) => select.add(new Option(describeRendition(r), String(i))));
  }
  document.getElementById('rendition-picker').hidden = list.length < 2;
}

function rendition(index, width, height, bitrate) {
  return { index, width: width || 0, height: height || 0, bitrate: bitrate || 0 };
}

function watchVideo() {
  video.addEventListener('playing', () => setState('playing'));
  video.addEventListener('pause', () => {
    if (!video.ended) {
      setState('paused');
    }
  });
  video.addEventListener('ended', () => setState('ended'));
  video.addEventListener('waiting', () => setState(video.ended ? 'ended' : 'loading'));
  video.addEventListener('timeupdate', () => {
    document.getElementById('time').textContent = formatTime(video.currentTime);
  });
  // With dash.js 5.2.1, after a forced rendition switch near the end, the
  // element sometimes ends after a "waiting" event and fires no "ended"
  // event, so the ended attribute is checked as well.
  setInterval(() => {
    if (video.ended) {
      setState('ended');
    }
  }, 500);
  video.addEventListener('error', () => {
    const err = video.error;
    fail('media_decode', `The browser could not play the media: ${err ? err.message || 'code ' + err.code : 'unknown error'}.`);
  });
}

function seek(seconds) {
  video.currentTime = Math.max(0, Math.min(seconds, video.duration || seconds));
}

// ---- library loading ----

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const el = document.createElement('script');
    el.src = src;
    el.onload = resolve;
    el.onerror = () => reject(new Error(`loading ${src} failed`));
    document.head.append(el);
  });
}

// ---- hls.js ----

async function playHLS(opts) {
  await loadScript('lib/hls.min.js');
  const Hls = window.Hls;
  status.player = 'hls.js ' + Hls.version;
  if (!Hls.isSupported()) {
    fail('unsupported', 'This browser has no Media Source Extensions, so hls.js cannot play.');
    return;
  }

  // A refused key stays refused: retrying a 4xx only delays the error.
  const noRetryOn4xx = (config, count, timeout, response, retry) =>
    retry && !(response && response.code >= 400 && response.code < 500);

  const hls = new Hls({
    debug: false,
    // The bearer goes on key requests only. hls.js passes the loader context
    // as the third argument; key loads carry keyInfo.
    xhrSetup(xhr, url, context) {
      if (!context || !context.keyInfo) {
        return;
      }
      xhr.open('GET', url, true);
      if (opts.token) {
        xhr.setRequestHeader('Authorization', 'Bearer ' + opts.token);
      }
      xhr.addEventListener('loadend', () => noteKeyStatus(xhr.status));
    },
    keyLoadPolicy: {
      default: {
        maxTimeToFirstByteMs: 8000,
        maxLoadTimeMs: 20000,
        timeoutRetry: { maxNumRetry: 1, retryDelayMs: 1000, maxRetryDelayMs: 8000 },
        errorRetry: { maxNumRetry: 2, retryDelayMs: 500, maxRetryDelayMs: 4000, shouldRetry: noRetryOn4xx },
      },
    },
  });

  const update = () => {
    const list = hls.levels.map((l, i) => rendition(i, l.width, l.height, l.bitrate));
    const current = hls.currentLevel >= 0 ? list[hls.currentLevel] : null;
    showRenditions(list, current || null);
  };
  hls.on(Hls.Events.MANIFEST_PARSED, update);
  hls.on(Hls.Events.LEVEL_SWITCHED, update);
  hls.on(Hls.Events.KEY_LOADED, () => noteKeyStatus(200));
  hls.on(Hls.Events.ERROR, (event, data) => onHlsError(Hls, data));

  status.setRendition = (i) => {
    hls.currentLevel = i;
    return true;
  };

  hls.loadSource(opts.url);
  hls.attachMedia(video);
  startPlayback();
}

function onHlsError(Hls, data) {
  const httpStatus = data.response && typeof data.response.code === 'number' ? data.response.code : undefined;
  const details = data.details || '';

  if (details === Hls.ErrorDetails.KEY_LOAD_ERROR || details === Hls.ErrorDetails.KEY_LOAD_TIMEOUT) {
    if (data.fatal || status.keyStatus >= 400) {
      failKey(httpStatus);
    }
    return;
  }
  if (!data.fatal) {
    return;
  }
  if (details.startsWith('manifest') || details.startsWith('level')) {
    fail('manifest_load', `The playlist could not be loaded (${describeHTTP(httpStatus)}).`);
    return;
  }
  if (details.startsWith('frag')) {
    fail('segment_load', `A media segment could not be loaded (${describeHTTP(httpStatus)}).`);
    return;
  }
  fail('player', `hls.js stopped: ${data.type} ${details}${data.error ? ': ' + data.error.message : ''}.`);
}

function describeHTTP(httpStatus) {
  return typeof httpStatus === 'number' && httpStatus > 0 ? `HTTP ${httpStatus}` : 'no HTTP response';
}

// ---- Shaka Player ----

async function playShaka(opts) {
  await loadScript('lib/shaka-player.compiled.js');
  const shaka = window.shaka;
  status.player = 'Shaka Player ' + shaka.Player.version;
  shaka.polyfill.installAll();
  if (!shaka.Player.isBrowserSupported()) {
    fail('unsupported', 'This browser lacks what Shaka Player needs (Media Source Extensions or EME).');
    return;
  }

  const player = new shaka.Player();
  await player.attach(video);

  // A license URL in the MPD (<clearkey:Laurl>) overrides drm.servers, so
  // the configured server matters only for manifests without one.
  const servers = opts.license ? { 'org.w3.clearkey': opts.license } : {};
  player.configure({ drm: { servers } });

  const LICENSE = shaka.net.NetworkingEngine.RequestType.LICENSE;
  const net = player.getNetworkingEngine();
  net.registerRequestFilter((type, request) => {
    if (type === LICENSE && opts.token) {
      request.headers['Authorization'] = 'Bearer ' + opts.token;
    }
  });
  net.registerResponseFilter((type, response) => {
    if (type === LICENSE) {
      noteKeyStatus(response.status || 200);
    }
  });

  const update = () => {
    const variants = player.getVariantTracks().slice().sort((a, b) => a.bandwidth - b.bandwidth);
    const list = variants.map((t, i) => rendition(i, t.width, t.height, t.videoBandwidth || t.bandwidth));
    const active = variants.findIndex((t) => t.active);
    showRenditions(list, active >= 0 ? list[active] : null);
    status.setRendition = (i) => {
      if (i < 0) {
        player.configure({ abr: { enabled: true } });
        return true;
      }
      if (!variants[i]) {
        return false;
      }
      player.configure({ abr: { enabled: false } });
      player.selectVariantTrack(variants[i], true);
      return true;
    };
  };
  player.addEventListener('trackschanged', update);
  player.addEventListener('variantchanged', update);
  player.addEventListener('adaptation', update);
  player.addEventListener('error', (event) => onShakaError(shaka, event.detail));

  try {
    await player.load(opts.url);
  } catch (err) {
    onShakaError(shaka, err);
    return;
  }
  update();
  startPlayback();
}

// shakaHTTPStatus finds the status of a BAD_HTTP_STATUS error, which Shaka
// nests inside LICENSE_REQUEST_FAILED and similar wrappers.
function shakaHTTPStatus(shaka, err) {
  if (!err || typeof err !== 'object') {
    return undefined;
  }
  if (err.code === shaka.util.Error.Code.BAD_HTTP_STATUS) {
    return err.data[1];
  }
  for (const item of err.data || []) {
    const found = shakaHTTPStatus(shaka, item);
    if (found !== undefined) {
      return found;
    }
  }
  return undefined;
}

function onShakaError(shaka, err) {
  const Code = shaka.util.Error.Code;
  const Category = shaka.util.Error.Category;
  const httpStatus = shakaHTTPStatus(shaka, err);

  if (err.code === Code.LICENSE_REQUEST_FAILED) {
    failKey(httpStatus === undefined ? 0 : httpStatus);
    return;
  }
  if (err.severity !== shaka.util.Error.Severity.CRITICAL && err.severity !== undefined) {
    return;
  }
  if (err.category === Category.DRM) {
    fail('drm', `Decryption setup failed (Shaka error ${err.code}).`);
    return;
  }
  if (err.category === Category.MANIFEST) {
    fail('manifest_load', `The manifest could not be read (Shaka error ${err.code}).`);
    return;
  }
  if (err.category === Category.NETWORK) {
    fail('segment_load', `A request failed (${describeHTTP(httpStatus)}, Shaka error ${err.code}).`);
    return;
  }
  fail('player', `Shaka Player stopped with error ${err.code || err.message}.`);
}

// ---- dash.js (DASH and Smooth Streaming) ----

async function playDashJS(opts) {
  await loadScript('lib/dash.all.min.js');
  if (opts.format === 'smooth') {
    await loadScript('lib/dash.mss.min.js');
  }
  const dashjs = window.dashjs;
  if (!dashjs.supportsMediaSource()) {
    fail('unsupported', 'This browser has no Media Source Extensions, so dash.js cannot play.');
    return;
  }

  const player = dashjs.MediaPlayer().create();
  status.player = 'dash.js ' + dashjs.Version;
  player.updateSettings({ debug: { logLevel: dashjs.Debug.LOG_LEVEL_WARNING } });

  // With an Authorization header dash.js switches the license request to
  // credentialed CORS, which a key server answering "*" rejects. The token is
  // in the header, so cookies are not needed.
  const clearkey = { withCredentials: false };
  if (opts.token) {
    clearkey.httpRequestHeaders = { Authorization: 'Bearer ' + opts.token };
  }
  const license = opts.format === 'smooth' ? smoothLicenseURL(opts) : opts.license;
  if (license) {
    clearkey.serverURL = license;
  }
  player.setProtectionData({ 'org.w3.clearkey': clearkey });
  player.registerLicenseResponseFilter(() => {
    noteKeyStatus(200);
    return Promise.resolve();
  });

  const events = dashjs.MediaPlayer.events;
  // dash.js fires MANIFEST_LOADED with the parsed manifest before it picks a
  // key system from the ContentProtection entries, so they can be adjusted
  // here.
  player.on(events.MANIFEST_LOADED, (e) => {
    if (opts.format === 'smooth') {
      addClearKeyToSmooth(e.data);
    } else {
      dropW3CCommonSystem(e.data);
    }
  });

  const update = () => {
    let reps = [];
    let current = null;
    try {
      reps = player.getRepresentationsByType('video') || [];
      current = player.getCurrentRepresentationForType('video');
    } catch {
      return;
    }
    const list = reps.map((r, i) => rendition(i, r.width, r.height, r.bandwidth));
    const active = current ? reps.findIndex((r) => r.id === current.id) : -1;
    showRenditions(list, active >= 0 ? list[active] : null);
  };
  player.on(events.STREAM_INITIALIZED, update);
  player.on(events.QUALITY_CHANGE_RENDERED, update);
  player.on(events.ERROR, (e) => onDashError(e.error || {}));

  status.setRendition = (i) => {
    const auto = i < 0;
    player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: auto } } } });
    if (!auto) {
      player.setRepresentationForTypeByIndex('video', i, true);
    }
    return true;
  };

  player.initialize(video, opts.url, true);
  startPlayback();
}

// ContentProtection scheme IDs: the DASH-IF ClearKey system, the W3C common
// PSSH system and PlayReady.
const schemeClearKey = 'urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e';
const schemeW3CCommon = 'urn:uuid:1077efec-c0b2-4d02-ace3-3c1e52e2fb4b';
const schemePlayReady = 'urn:uuid:9a04f079-9840-4286-ab92-e65be0885f95';

// contentProtectionLists returns every ContentProtection list of the parsed
// manifest, at AdaptationSet and Representation level.
function contentProtectionLists(manifest) {
  const lists = [];
  for (const period of (manifest && manifest.Period) || []) {
    for (const set of period.AdaptationSet || []) {
      lists.push(set.ContentProtection);
      for (const rep of set.Representation || []) {
        lists.push(rep.ContentProtection);
      }
    }
  }
  return lists.filter(Array.isArray);
}

function hasScheme(list, scheme) {
  return list.some((cp) => String(cp.schemeIdUri || '').toLowerCase() === scheme);
}

// dropW3CCommonSystem removes the W3C common system's ContentProtection where
// the DASH-IF ClearKey system is listed too. With protection data for
// org.w3.clearkey set, dash.js 5.2.1 prefers the common system and passes its
// cenc:pssh box to generateRequest() with the "keyids" init data type, which
// Chromium rejects with a TypeError. The ClearKey system instead builds
// "keyids" init data from cenc:default_KID. dash.js then ignores the pssh in
// the init segments, because it names the common system and not the selected
// one.
function dropW3CCommonSystem(manifest) {
  for (const list of contentProtectionLists(manifest)) {
    if (!hasScheme(list, schemeClearKey)) {
      continue;
    }
    for (let i = list.length - 1; i >= 0; i--) {
      if (String(list[i].schemeIdUri || '').toLowerCase() === schemeW3CCommon) {
        list.splice(i, 1);
      }
    }
  }
}

// addClearKeyToSmooth lets dash.js use ClearKey for a protected Smooth
// Streaming manifest. Its Smooth parser offers only PlayReady and Widevine,
// built from the ProtectionHeader, and Chromium has neither, so this adds the
// ClearKey system with the key ID that the parser read from the header.
//
// dash.js 5.2.1 passes ClearKey init data to generateRequest() with the
// "keyids" type. It takes a ContentProtection's init data from the base64
// text of its cenc:pssh without checking that it is a pssh box. So the entry
// carries the key ID there as keyids JSON (the W3C "Key IDs" init data
// format). dash.js can also build that JSON from cenc:default_KID, but not
// for Smooth: the moov builder of dash.mss then gets a Uint8Array where it
// needs an ArrayBuffer, and stops with "First argument to DataView
// constructor must be an ArrayBuffer".
//
// The entry goes last because dash.js writes the first entry's key ID into
// the tenc box of the init segment it builds.
function addClearKeyToSmooth(manifest) {
  for (const list of contentProtectionLists(manifest)) {
    // The Smooth parser shares one list between all streams.
    if (hasScheme(list, schemeClearKey)) {
      continue;
    }
    const playready = list.find((cp) => String(cp.schemeIdUri || '').toLowerCase() === schemePlayReady);
    const kid = playready && playready['cenc:default_KID'];
    if (!kid || kid.length !== 16) {
      continue;
    }
    const keyIDs = JSON.stringify({ kids: [base64url(kid)] });
    list.push({ schemeIdUri: schemeClearKey, value: 'ClearKey1.0', pssh: { __text: btoa(keyIDs) } });
  }
}

// base64url encodes bytes without padding, as W3C ClearKey messages do.
function base64url(bytes) {
  const text = btoa(String.fromCharCode(...Array.from(bytes, Number)));
  return text.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

// smoothLicenseURL returns the license parameter, or the origin's ClearKey
// license endpoint on the manifest's host: a Smooth manifest has no place for
// a license URL.
function smoothLicenseURL(opts) {
  if (opts.license) {
    return opts.license;
  }
  try {
    return new URL('/keys/clearkey', new URL(opts.url, location.href)).href;
  } catch {
    return '';
  }
}

function onDashError(err) {
  const code = err.code;
  const message = err.message || '';

  // 114: MEDIA_KEY_MESSAGE_LICENSER_ERROR, the license server answered with
  // an error or could not be reached.
  if (code === 114 || /licen[cs]e/i.test(message)) {
    let httpStatus = err.data && err.data.responseCode;
    if (typeof httpStatus !== 'number') {
      const match = /\((\d{1,3})\)/.exec(message);
      httpStatus = match ? Number(match[1]) : 0;
    }
    failKey(httpStatus);
    return;
  }
  if (code === 10 || code === 11) {
    fail('manifest_load', `The manifest could not be loaded or parsed (dash.js error ${code}).`);
    return;
  }
  if (code === 17 || code === 18) {
    fail('segment_load', `A media segment could not be loaded (dash.js error ${code}).`);
    return;
  }
  if (code >= 100 && code < 200) {
    fail('drm', `Decryption setup failed (dash.js error ${code}).`);
    return;
  }
  fail('player', `dash.js stopped with error ${code}.`);
}

// ---- start ----

function startPlayback() {
  // Muted playback may start without a user gesture, so autoplay works in
  // every browser and in headless tests.
  video.muted = true;
  const attempt = video.play();
  if (attempt && attempt.catch) {
    attempt.catch(() => {
      // The players call play() again once data arrives; a rejection here
      // only means the source is not ready yet.
    });
  }
}

function prefillForm(opts) {
  const form = document.getElementById('open');
  form.elements.url.value = opts.url;
  form.elements.format.value = ['hls', 'dash', 'smooth'].includes(opts.format) ? opts.format : '';
  form.elements.player.value = opts.player === 'dashjs' ? 'dashjs' : 'shaka';
}

async function main() {
  const opts = readParams();
  watchVideo();
  prefillForm(opts);
  document.getElementById('renditions').addEventListener('change', (e) => {
    status.setRendition(Number(e.target.value));
  });

  if (!opts.url) {
    status.state = 'idle';
    document.getElementById('state').textContent = 'No stream: enter a manifest URL below.';
    return;
  }
  status.format = opts.format;

  try {
    switch (opts.format) {
      case 'hls':
        await playHLS(opts);
        break;
      case 'dash':
        if (opts.player === 'shaka') {
          await playShaka(opts);
        } else if (opts.player === 'dashjs') {
          await playDashJS(opts);
        } else {
          fail('bad_request', `The player "${opts.player}" is not known: use player=shaka or player=dashjs.`);
        }
        break;
      case 'smooth':
        await playDashJS(opts);
        break;
      default:
        fail('bad_request', 'The stream format is not known: add format=hls, format=dash or format=smooth.');
        return;
    }
  } catch (err) {
    fail('player', `The player could not start: ${err.message}.`);
  }
  document.getElementById('player').textContent = status.player || 'none';
}

main();
