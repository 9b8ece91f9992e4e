# CloudFront in front of the function URL: TLS at the edge (on a custom domain when one is set),
# nothing cached, every viewer header but Host passed on (Authorization, x-api-key, anthropic-*),
# and the origin secret added to every origin request so the gateway can refuse callers that went
# around CloudFront.

locals {
  custom_domain = var.domain_name != ""

  # https://<url-id>.lambda-url.<region>.on.aws/ -> <url-id>.lambda-url.<region>.on.aws
  function_url_host = split("/", aws_lambda_function_url.chatrix.function_url)[2]

  public_url = (local.custom_domain
    ? "https://${var.domain_name}"
    : "https://${aws_cloudfront_distribution.chatrix.domain_name}"
  )

  origin_id = "chatrix-function-url"

  # CloudFront caches error responses to GET/HEAD for 10 s by default, even under
  # CachingDisabled: a transient 503 on /health, or a 404 on /v1/models, would be served again to
  # every caller for those seconds. Each status CloudFront would cache, and the gateway, Lambda or
  # CloudFront may answer with, gets a zero error-caching TTL; the origin's own response passes
  # through as it is. Only the codes CloudFront documents for custom error responses are accepted
  # (400, 403, 404, 405, 414, 416, 500-504: https://docs.aws.amazon.com/AmazonCloudFront/latest/
  # DeveloperGuide/creating-custom-error-pages.html); anything else, 413 or 429 for example, makes
  # CreateDistribution fail. Those two are never cached anyway (HTTPStatusCodes.html, "HTTP 4xx and
  # 5xx status codes that CloudFront caches"). tests/infra/check_tf.py enforces the list.
  uncached_error_codes = [400, 403, 404, 405, 500, 502, 503, 504]
}

# AWS managed policies, by their fixed IDs (the same in every account); looking them up checks at
# plan time that they exist.
data "aws_cloudfront_cache_policy" "caching_disabled" {
  id = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" # Managed-CachingDisabled
}

data "aws_cloudfront_origin_request_policy" "all_viewer_except_host" {
  id = "b689b0a8-53d0-40ab-baf2-68738e2966ac" # Managed-AllViewerExceptHostHeader
}

data "aws_cloudfront_response_headers_policy" "security_headers" {
  id = "67f7725c-6f97-4210-82d7-5512b31e9d03" # Managed-SecurityHeadersPolicy: HSTS, nosniff, ...
}

# --- Certificate (custom domain only) ---------------------------------------------------------

resource "aws_acm_certificate" "chatrix" {
  count    = local.custom_domain ? 1 : 0
  provider = aws.us_east_1

  domain_name       = var.domain_name
  validation_method = "DNS"

  options {
    certificate_transparency_logging_preference = "ENABLED"
  }

  # checks.tf refuses a domain_name without route53_zone_id before anything is planned.
  lifecycle {
    create_before_destroy = true
  }
}

# One name, so one validation record; counted statically so the plan never depends on values ACM
# only knows after creating the certificate.
resource "aws_route53_record" "certificate_validation" {
  count = local.custom_domain ? 1 : 0

  zone_id         = var.route53_zone_id
  name            = one(aws_acm_certificate.chatrix[0].domain_validation_options).resource_record_name
  type            = one(aws_acm_certificate.chatrix[0].domain_validation_options).resource_record_type
  records         = [one(aws_acm_certificate.chatrix[0].domain_validation_options).resource_record_value]
  ttl             = 300
  allow_overwrite = true
}

# Waits (up to the provider's 75 minutes) until ACM sees the records and issues the certificate.
resource "aws_acm_certificate_validation" "chatrix" {
  count    = local.custom_domain ? 1 : 0
  provider = aws.us_east_1

  certificate_arn         = aws_acm_certificate.chatrix[0].arn
  validation_record_fqdns = aws_route53_record.certificate_validation[*].fqdn
}

# --- Distribution -----------------------------------------------------------------------------

resource "aws_cloudfront_distribution" "chatrix" {
  #checkov:skip=CKV_AWS_68:No WAF by default (web_acl_id = null): a web ACL costs a monthly fee plus per-request charges, and every request already needs an API key, checked in constant time before the body is read. Set web_acl_id where rate limiting by IP is wanted.
  #checkov:skip=CKV2_AWS_47:Log4j rules belong to a WAF web ACL, which is not attached (see CKV_AWS_68); the origin is a Rust binary with no Java.
  #checkov:skip=CKV_AWS_86:No CloudFront access logs: they need an S3 bucket (with its own logging, versioning and encryption), and the gateway already logs every request, with key name, status, tokens and cost, to CloudWatch.
  #checkov:skip=CKV_AWS_374:No geo restriction: an API for a team's own clients, who work from wherever they are; access is by API key.
  #checkov:skip=CKV_AWS_310:No origin failover: CloudFront fails over only GET, HEAD and OPTIONS, never the POSTs that make up this API, and a second origin would mean a second Region's deployment.
  #checkov:skip=CKV_AWS_174:Only without a custom domain: the default *.cloudfront.net certificate always accepts TLSv1 and AWS offers no way to raise it. With domain_name set the policy is TLSv1.2_2021. Clients (Claude Code, the SDKs) negotiate TLS 1.2/1.3 anyway.
  #checkov:skip=CKV_AWS_305:An API, not a website: there is no root object to serve, and `/` is answered by the gateway.
  comment         = "Chatrix (${var.name}): Anthropic Messages API from Amazon Bedrock"
  enabled         = true
  is_ipv6_enabled = true
  http_version    = "http2and3"
  price_class     = var.price_class
  aliases         = local.custom_domain ? [var.domain_name] : []
  # Managed here so that an apply keeps it; one attached in the console would be detached.
  web_acl_id = var.web_acl_id

  origin {
    origin_id   = local.origin_id
    domain_name = local.function_url_host

    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
      # Bounds silence between response bytes, not the length of a generation: streams carry an
      # SSE ping at least every 15 s (variables.tf explains the non-streaming case).
      origin_read_timeout      = var.origin_read_timeout
      origin_keepalive_timeout = var.origin_keepalive_timeout
    }

    # Replaces any value a viewer sends under the same name.
    custom_header {
      name  = "x-chatrix-origin-secret"
      value = random_password.origin_secret.result
    }
  }

  default_cache_behavior {
    target_origin_id = local.origin_id
    # https-only, not redirect-to-https: a redirected POST loses its body, so a client configured
    # with http:// should fail loudly rather than half-work.
    viewer_protocol_policy = "https-only"
    allowed_methods        = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    cached_methods         = ["GET", "HEAD"]

    # Nothing is cached. With caching disabled, the AllViewerExceptHostHeader policy may forward
    # Authorization too; Host must stay the function URL's own or Lambda refuses the request.
    cache_policy_id            = data.aws_cloudfront_cache_policy.caching_disabled.id
    origin_request_policy_id   = data.aws_cloudfront_origin_request_policy.all_viewer_except_host.id
    response_headers_policy_id = data.aws_cloudfront_response_headers_policy.security_headers.id

    # Responses are never compressed at the edge: SSE must flow event by event, and CloudFront
    # compresses only what its cache policy allows (CachingDisabled allows none) anyway.
    compress = false
  }

  # No response_code / response_page_path: the origin's own error body is kept.
  dynamic "custom_error_response" {
    for_each = local.uncached_error_codes
    content {
      error_code            = custom_error_response.value
      error_caching_min_ttl = 0
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  # The default *.cloudfront.net certificate always allows TLSv1; a custom domain gets TLS 1.2+.
  viewer_certificate {
    cloudfront_default_certificate = !local.custom_domain
    acm_certificate_arn            = local.custom_domain ? aws_acm_certificate_validation.chatrix[0].certificate_arn : null
    ssl_support_method             = local.custom_domain ? "sni-only" : null
    minimum_protocol_version       = local.custom_domain ? "TLSv1.2_2021" : "TLSv1"
  }

  # The origin must accept requests before CloudFront sends any to it.
  depends_on = [
    aws_lambda_permission.function_url,
    aws_lambda_permission.function_url_invoke,
  ]
}

# --- DNS (custom domain only) -----------------------------------------------------------------

resource "aws_route53_record" "alias" {
  for_each = local.custom_domain ? toset(["A", "AAAA"]) : toset([])

  zone_id = var.route53_zone_id
  name    = var.domain_name
  type    = each.key

  alias {
    name                   = aws_cloudfront_distribution.chatrix.domain_name
    zone_id                = aws_cloudfront_distribution.chatrix.hosted_zone_id
    evaluate_target_health = false
  }
}
