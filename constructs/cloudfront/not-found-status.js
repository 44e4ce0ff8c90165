// CloudFront Function (runtime cloudfront-js-2.0), viewer-response, attached to the static (S3) behaviour
// only, next to spa-router.js. The export's 404 page is uploaded with the object metadata
// `http-status: 404` (scripts/ci/static-site-sync.sh), which S3 returns as the response header
// `x-amz-meta-http-status`. This function turns that page's 200 into a 404 and drops the header, so
// unknown site paths (which spa-router.js sends to /404.html) answer 404 with the human page, and nothing
// else changes: other objects carry no such header, and the API behaviours run no function at all.
//
// It reads only the response's status and headers (a viewer-response function never sees the body):
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-event-structure.html
var STATUS_HEADER = "x-amz-meta-http-status";

function handler(event) {
  var response = event.response;
  var marker = response.headers[STATUS_HEADER];
  if (marker) {
    delete response.headers[STATUS_HEADER];
    if (marker.value === "404" && response.statusCode === 200) {
      response.statusCode = 404;
      response.statusDescription = "Not Found";
    }
  }
  return response;
}
