// CloudFront Function (runtime cloudfront-js-2.0), viewer-request, attached to the static (S3) behaviour
// only. It maps the site's URLs onto the objects of a Next.js static export built with
// `output: 'export'` and `trailingSlash: true`, where every page is `<path>/index.html`, and sends
// unknown paths to the export's 404 page.
//
//   /                      -> /index.html
//   /about/                -> /about/index.html
//   /about                 -> 308 redirect to /about/ (query string kept), as Next.js itself does
//   /a//b/ or //a          -> 308 redirect to the path with repeated slashes collapsed (never a
//                             protocol-relative "//host" Location)
//   /_next/..., /.well-known/..., and anything whose last segment has a file extension
//   (/index.html, /favicon.ico, /app.js) -> unchanged
//   a client-rendered route under a prefix in CLIENT_ROUTE_PREFIXES (e.g. /app/settings/) -> that
//   prefix's shell page (/app/index.html)
//   anything whose object the export does not hold (/no-such-page/, /no-such-page, /gone.png)
//                          -> /404.html; the viewer-response function (not-found-status.js) turns the
//                             page's 200 into 404
//
// Which objects exist: the key value store associated with this function holds one key per object of
// the export outside /_next/static/ (its S3 key with a leading "/", e.g. "/about/index.html"), written by
// the static-site deploy
// (scripts/ci/static-site-sync.sh). A store without "/index.html" has not been filled yet; then nothing is
// sent to the 404 page and a miss reaches S3 as before. A failing lookup does the same.
//
// On the API's own host (api.<site>, same distribution) only the API behaviours (/api/*) serve anything.
// Every other path of that host reaches this function and gets the JSON 404 API Gateway gives an unknown
// route, never a page of the site.
//
// The URI is handled as received (percent-encoded); S3 decodes it when it looks up the key, and the
// store is asked for the decoded key. KeyValueStore helpers:
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-custom-methods.html
import cf from 'cloudfront';

const kvs = cf.kvs();

// The key that a filled store always holds (the deploy refuses an export without index.html).
var FILLED_MARKER = "/index.html";

// The export's 404 page (Next.js writes it from pages/404 or app/not-found).
var NOT_FOUND_PAGE = "/404.html";

// Content-hashed assets: served by their own behaviour (no function), and not listed in the store.
var HASHED_ASSETS_PREFIX = "/_next/static/";

// Sections of the app that are rendered on the client: the export contains only `<prefix>index.html`
// for them, and every deeper path is served that shell. Each entry starts and ends with "/".
var CLIENT_ROUTE_PREFIXES = ["/app/"];

// Paths that are served byte for byte, whatever their shape.
var PASSTHROUGH_PREFIXES = ["/_next/", "/.well-known/"];

// Host names starting with this prefix are the API's host (naming.apiHostName: api.<siteName>).
var API_HOST_PREFIX = "api.";

// Characters allowed in a redirect target: RFC 3986 path characters and percent-escapes. Anything else
// (backslashes, control characters, spaces) is never echoed into a Location header.
var SAFE_PATH = /^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]*)+$/;

function startsWithAny(uri, prefixes) {
  for (var i = 0; i < prefixes.length; i++) {
    if (uri.indexOf(prefixes[i]) === 0) return true;
  }
  return false;
}

function hasExtension(uri) {
  var last = uri.substring(uri.lastIndexOf("/") + 1);
  var dot = last.lastIndexOf(".");
  return dot > 0 && dot < last.length - 1;
}

function queryString(querystring) {
  var parts = [];
  for (var key in querystring) {
    var entry = querystring[key];
    var values = entry.multiValue ? entry.multiValue : [entry];
    for (var i = 0; i < values.length; i++) {
      parts.push(values[i].value === "" ? key : key + "=" + values[i].value);
    }
  }
  return parts.length ? "?" + parts.join("&") : "";
}

function redirect(location, request) {
  return {
    statusCode: 308,
    statusDescription: "Permanent Redirect",
    headers: {
      location: { value: location + queryString(request.querystring || {}) },
      "cache-control": { value: "public, max-age=3600" },
    },
  };
}

function clientShell(uri) {
  for (var i = 0; i < CLIENT_ROUTE_PREFIXES.length; i++) {
    var prefix = CLIENT_ROUTE_PREFIXES[i];
    if (uri.indexOf(prefix) === 0) return prefix + "index.html";
  }
  return null;
}

function apiNotFound() {
  return {
    statusCode: 404,
    statusDescription: "Not Found",
    headers: {
      "content-type": { value: "application/json" },
      "cache-control": { value: "public, max-age=300" },
    },
    body: { encoding: "text", data: '{"message":"Not Found"}' },
  };
}

// The S3 key a URI names, or null when it is not valid percent-encoding (S3 would find nothing).
function keyOf(uri) {
  try {
    return decodeURIComponent(uri);
  } catch (e) {
    return null;
  }
}

// true when the export holds the object, or when that cannot be known (store not filled, lookup failed).
async function held(uri) {
  var key = keyOf(uri);
  try {
    if (key !== null && (await kvs.exists(key))) return true;
    return !(await kvs.exists(FILLED_MARKER));
  } catch (e) {
    return true;
  }
}

async function notFoundUnlessHeld(request, uri) {
  request.uri = (await held(uri)) ? uri : NOT_FOUND_PAGE;
  return request;
}

async function handler(event) {
  var request = event.request;
  var uri = request.uri;
  var host = request.headers && request.headers.host ? request.headers.host.value.toLowerCase() : "";

  if (host.indexOf(API_HOST_PREFIX) === 0) return apiNotFound();

  if (!uri || uri.charAt(0) !== "/") {
    request.uri = "/index.html";
    return request;
  }

  if (uri.indexOf("//") !== -1) {
    var collapsed = uri.replace(/\/{2,}/g, "/");
    if (!SAFE_PATH.test(collapsed)) return notFoundUnlessHeld(request, uri);
    if (!hasExtension(collapsed) && collapsed.charAt(collapsed.length - 1) !== "/" && !startsWithAny(collapsed, PASSTHROUGH_PREFIXES)) {
      collapsed += "/";
    }
    return redirect(collapsed, request);
  }

  if (uri.indexOf(HASHED_ASSETS_PREFIX) === 0) return request;
  if (startsWithAny(uri, PASSTHROUGH_PREFIXES) || hasExtension(uri)) return notFoundUnlessHeld(request, uri);

  if (uri.charAt(uri.length - 1) !== "/") {
    if (!SAFE_PATH.test(uri)) return notFoundUnlessHeld(request, uri);
    // Redirect only to a page that exists; an unknown path gets the 404 page at once.
    if (clientShell(uri + "/") === null && !(await held(uri + "/index.html"))) {
      request.uri = NOT_FOUND_PAGE;
      return request;
    }
    return redirect(uri + "/", request);
  }

  var shell = clientShell(uri);
  return notFoundUnlessHeld(request, shell !== null ? shell : uri + "index.html");
}
