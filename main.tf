# The gateway itself: ECR repository, log group, API-key secret, execution role, the Lambda
# function (the container image, run by the Lambda Web Adapter) and its function URL.
# CloudFront in front of the URL is in cloudfront.tf; the GitHub deploy role in github-actions.tf.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  create_secret      = var.api_key_secret_arn == ""
  api_key_secret_arn = local.create_secret ? aws_secretsmanager_secret.api_keys[0].arn : var.api_key_secret_arn

  # The profile each allowed model is invoked through, by the gateway's own rule
  # (`Catalog::resolve` in src/models.rs, reading the same src/models.json): the configured
  # geography if the model has it; with `global` and no global profile, the model's first listed
  # one; otherwise (or with `none`, or a model with no profiles) the bare id, needing no profile.
  # A model missing from the catalog is assumed to have the configured geography.
  catalog = jsondecode(file("${path.module}/src/models.json")).models
  model_profiles = {
    for id in var.bedrock_models : id => flatten(concat(
      [for m in local.catalog : m.profiles if m.bedrock_id == id],
      anytrue([for m in local.catalog : m.bedrock_id == id]) ? [] : [[var.inference_profile]],
    ))
  }
  profile_prefix = {
    for id, profiles in local.model_profiles : id => (
      var.inference_profile == "none" || length(profiles) == 0 ? null :
      contains(profiles, var.inference_profile) ? var.inference_profile :
      var.inference_profile == "global" ? profiles[0] : null
    )
  }

  # A cross-Region profile is authorised twice: the profile in this account and Region, and the
  # model in every Region the profile may route to. The Region wildcard also matches the empty
  # Region of the ARNs a `global.` profile routes to (arn:aws:bedrock:::foundation-model/ID).
  # CountTokens takes the bare model id, so the model ARNs serve it too.
  bedrock_model_arns = [
    for id in var.bedrock_models : "arn:${local.partition}:bedrock:*::foundation-model/${id}"
  ]
  # The profiles are those of the Regions the function calls with its own role (var.region, or the
  # pool's entries without a role) and of the fallback geographies: upstreams.tf.
  bedrock_profile_arns = local.upstream_profile_arns
  # Launch-day Claude models and discovery's fallback geographies (var.allow_new_claude_models).
  bedrock_claude_arns = var.allow_new_claude_models ? concat(
    ["arn:${local.partition}:bedrock:*::foundation-model/anthropic.claude-*"],
    [for region in local.own_regions : "arn:${local.partition}:bedrock:${region}:${local.account_id}:inference-profile/*.anthropic.claude-*"],
  ) : []

  cors_environment = {
    for k, v in { CHATRIX_CORS_ORIGINS = join(",", var.cors_origins) } : k => v if length(var.cors_origins) > 0
  }
  function_environment = merge(var.extra_environment, local.cors_environment, local.ledger_environment, local.upstreams_environment, {
    CHATRIX_BEDROCK           = "aws"
    CHATRIX_API_KEY_SECRET_ID = local.api_key_secret_arn
    CHATRIX_INFERENCE_PROFILE = var.inference_profile
    # Requests that did not come through CloudFront lack this value and get 403 (cloudfront.tf).
    CHATRIX_ORIGIN_SECRET = random_password.origin_secret.result
    CHATRIX_LOG_FORMAT    = "json"
    # Lambda Web Adapter: relay the response as it is written (SSE), probe readiness on /health
    # (it does no work and needs neither key nor origin header), find the server on its port.
    AWS_LWA_INVOKE_MODE          = "response_stream"
    AWS_LWA_READINESS_CHECK_PATH = "/health"
    AWS_LWA_PORT                 = "3000"
    PORT                         = "3000"
    # Lambda sends one request at a time to an instance, and 512 MB is about a third of a vCPU:
    # a second tokio worker only adds cross-thread wake-ups (bench/: -0.1 ms per request at c=1).
    TOKIO_WORKER_THREADS = "1"
  })
}

# --- Container registry -----------------------------------------------------------------------

# Tags are MUTABLE because the release workflow pushes each image as its version tag and as
# `latest`, and `latest` must move. That costs nothing in safety here: Lambda resolves a tag to its
# digest when the code is updated and keeps running that digest, so a later push under the same tag
# never changes the running function; only the deploy role can push at all.
resource "aws_ecr_repository" "chatrix" {
  #checkov:skip=CKV_AWS_51:Tags must be mutable: every release re-points `latest`. Lambda pins the digest at deploy time, and only the deploy role may push.
  name                 = var.name
  image_tag_mutability = "MUTABLE"
  force_delete         = var.ecr_force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  # The AWS-managed key (aws/ecr): KMS encryption at no key cost and no key policy to maintain.
  encryption_configuration {
    encryption_type = "KMS"
  }
}

resource "aws_ecr_lifecycle_policy" "chatrix" {
  repository = aws_ecr_repository.chatrix.name

  policy = jsonencode({
    rules = [
      {
        # An image a rule selects is never expired by a lower-priority rule, and only one image
        # can carry `latest`, so this rule expires nothing: it shields the image production runs
        # (the workflow keeps `latest` on it) from the count rule below, however old it is.
        rulePriority = 1
        description  = "Keep the image tagged latest (what production runs)"
        selection = {
          tagStatus      = "tagged"
          tagPatternList = ["latest"]
          countType      = "imageCountMoreThan"
          countNumber    = 1
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Expire untagged images (superseded pushes, build leftovers) after a day"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 1
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 3
        description  = "Keep the newest ${var.ecr_keep_images} images (rollback targets)"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.ecr_keep_images
        }
        action = { type = "expire" }
      },
    ]
  })
}

# Lambda pulls the image with its service principal. Granting it here, for this account's functions
# only, means Lambda never has to edit the policy itself (which would need `ecr:SetRepositoryPolicy`
# on whoever creates or updates the function, and would drift from this configuration).
resource "aws_ecr_repository_policy" "chatrix" {
  repository = aws_ecr_repository.chatrix.name

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "LambdaECRImageRetrievalPolicy"
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      Condition = {
        StringLike = {
          "aws:sourceArn" = "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:*"
        }
      }
    }]
  })
}

# --- Logs -------------------------------------------------------------------------------------

# Created before the function so Lambda never creates it without a retention.
resource "aws_cloudwatch_log_group" "chatrix" {
  #checkov:skip=CKV_AWS_158:The AWS-owned key already encrypts the group; the gateway never logs keys, prompts or completions, so a customer-managed key would add cost and a key policy without protecting anything more.
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
}

# --- API keys ---------------------------------------------------------------------------------

# Created empty: the keys never pass through this configuration or its state. Fill it with
# `aws secretsmanager put-secret-value` (docs/deployment.md); until then requests get 503.
resource "aws_secretsmanager_secret" "api_keys" {
  #checkov:skip=CKV2_AWS_57:The value is a set of client API keys issued by people, not a credential AWS can regenerate; rotation is editing the JSON (picked up within CHATRIX_KEY_CACHE_TTL_SECS), so a rotation Lambda has nothing to do.
  #checkov:skip=CKV_AWS_149:Encrypted with the AWS-managed key aws/secretsmanager; a customer-managed key adds cost and a key policy for no extra protection here. An existing secret under a customer-managed key is supported via api_key_secret_kms_key_arn.
  count = local.create_secret ? 1 : 0

  name                    = "${var.name}/api-keys"
  description             = "Chatrix API keys: {\"api_keys\":{\"alice\":\"sk-...\"}} or {\"api_key\":\"sk-...\"} (docs/configuration.md)"
  recovery_window_in_days = 7
}

# --- Execution role ---------------------------------------------------------------------------

resource "aws_iam_role" "lambda" {
  name        = "${var.name}-lambda"
  description = "Chatrix Lambda function: invoke the allowed Bedrock models, read the API-key secret, write its log group"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

data "aws_iam_policy_document" "lambda" {
  # Absent when every upstream is called through a role (upstreams.tf): the function's own role
  # then invokes nothing itself.
  dynamic "statement" {
    for_each = length(local.own_regions) > 0 ? [1] : []
    content {
      sid = "InvokeAllowedModels"
      # Converse and ConverseStream are authorised by InvokeModel and InvokeModelWithResponseStream.
      actions = [
        "bedrock:InvokeModel",
        "bedrock:InvokeModelWithResponseStream",
        "bedrock:CountTokens",
      ]
      resources = concat(local.bedrock_model_arns, local.bedrock_profile_arns, local.bedrock_claude_arns)
    }
  }

  # Model discovery (docs/discovery.md): the account's system-defined inference profiles, listed
  # in the background. A listing names no single resource, so ListInferenceProfiles needs "*"
  # (Service Authorization Reference for Amazon Bedrock:
  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonbedrock.html;
  # aws-samples/bedrock-access-gateway#123 reports the same).
  statement {
    sid       = "ListInferenceProfiles"
    actions   = ["bedrock:ListInferenceProfiles"]
    resources = ["*"]
  }

  # GetInferenceProfile: the gateway asks it which model is behind an application inference
  # profile ARN a client names (docs/models.md), and a listing is reported to leave out
  # system-defined profiles the caller cannot get (ministryofjustice/analytical-platform#5325;
  # unverified). Read-only, the account's profiles in the primary upstream's Region (var.region
  # without a pool; upstreams.tf). (Invoking an
  # application profile still needs its ARN in the InvokeAllowedModels resources.)
  statement {
    sid     = "ReadInferenceProfiles"
    actions = ["bedrock:GetInferenceProfile"]
    resources = [
      "arn:${local.partition}:bedrock:${local.primary_region}:${local.account_id}:inference-profile/*",
      "arn:${local.partition}:bedrock:${local.primary_region}:${local.account_id}:application-inference-profile/*",
    ]
  }

  statement {
    sid = "CountTokensOnMantle"
    # count_tokens for Claude models bedrock-runtime CountTokens does not count (those launched
    # cross-Region-only, e.g. Opus 5, Sonnet 5): POST /anthropic/v1/messages/count_tokens on
    # bedrock-mantle, SigV4 service bedrock-mantle. The action is bedrock-mantle:CountTokens
    # ("Grant ... bedrock-mantle:CountTokens for token counting",
    # https://code.claude.com/docs/en/amazon-bedrock; the endpoint:
    # https://docs.aws.amazon.com/bedrock/latest/userguide/count-tokens.html). Mantle authorises
    # calls on a project (the account's default project serves calls that name none), as the
    # AmazonBedrockMantleInferenceAccess managed policy scopes its inference actions.
    actions   = ["bedrock-mantle:CountTokens"]
    resources = ["arn:${local.partition}:bedrock-mantle:${local.primary_region}:${local.account_id}:project/*"]
  }

  statement {
    sid       = "ReadApiKeys"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.api_key_secret_arn]
  }

  dynamic "statement" {
    for_each = var.api_key_secret_kms_key_arn == "" ? [] : [var.api_key_secret_kms_key_arn]
    content {
      sid       = "DecryptApiKeys"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${var.region}.amazonaws.com"]
      }
    }
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.chatrix.arn}:*"]
  }
}

resource "aws_iam_role_policy" "lambda" {
  name   = "chatrix"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}

# --- Function ---------------------------------------------------------------------------------

resource "random_password" "origin_secret" {
  # Sent by CloudFront on every origin request and checked by the gateway; letters and digits
  # only, so it is a plain header value. Rotate with `apply -replace=random_password.origin_secret`.
  length  = 48
  special = false
}

resource "aws_lambda_function" "chatrix" {
  #checkov:skip=CKV_AWS_117:No VPC: the function reaches only public AWS APIs (Bedrock, Secrets Manager, CloudWatch); a VPC would add a NAT gateway or three interface endpoints per AZ and cold-start ENI work for no private resource.
  #checkov:skip=CKV_AWS_116:Invoked synchronously through its function URL; a dead-letter queue only receives failed asynchronous invocations, and clients see and retry failures themselves.
  #checkov:skip=CKV_AWS_50:The gateway emits no X-Ray segments; its request log carries request id, latency, tokens and cost, and the REPORT line carries init and billed duration, so active tracing would add cost without adding insight.
  #checkov:skip=CKV_AWS_173:Environment variables are encrypted at rest with the AWS-managed Lambda key. They hold no API keys (those are in Secrets Manager); the origin secret is only defence in depth behind the API key.
  #checkov:skip=CKV_AWS_272:Lambda code signing applies to .zip packages only; a container image function cannot use it. The image is pinned by digest at deploy time and only the deploy role can push it.
  function_name = var.name
  description   = "Chatrix: the Anthropic Messages API served from Amazon Bedrock"
  role          = aws_iam_role.lambda.arn

  package_type  = "Image"
  image_uri     = "${aws_ecr_repository.chatrix.repository_url}:${var.image_tag}"
  architectures = ["arm64"]

  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrency
  # Creating the function publishes version 1 for the `live` alias. Later applies that change the
  # configuration publish too, but do not move the alias (see below).
  publish = true

  environment {
    variables = local.function_environment
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.chatrix.name
  }

  lifecycle {
    # Releases are deployed by the GitHub workflow (update-function-code); an apply must not
    # roll the function back to `var.image_tag`.
    ignore_changes = [image_uri]
  }

  depends_on = [
    aws_iam_role_policy.lambda,
    aws_ecr_repository_policy.chatrix,
  ]
}

# What the public URL serves: a published version (code and configuration together), so that a
# rollback is one `aws lambda update-alias` back to the previous version. The release workflow
# publishes each deployment and moves the alias after its smoke test passes (docs/releasing.md).
# The alias ignores its version here for the same reason the function ignores its image: an
# apply must never roll a release back. A configuration change made by an apply reaches
# `$LATEST` and a new version at once, but goes live only with the next release (or by hand:
# docs/deployment.md, "Configuration changes").
resource "aws_lambda_alias" "live" {
  name             = "live"
  description      = "The version the function URL (and so CloudFront) serves; moved by the release workflow"
  function_name    = aws_lambda_function.chatrix.function_name
  function_version = aws_lambda_function.chatrix.version

  lifecycle {
    ignore_changes = [function_version]
  }
}

# The URL is public at the Lambda layer and guarded by the gateway: every request needs an API key,
# and every request also needs CloudFront's origin secret (CHATRIX_ORIGIN_SECRET), so the URL called
# directly answers 403. AWS_IAM with CloudFront origin access control is not an option: OAC signs
# POST bodies only when the viewer sends `x-amz-content-sha256` with the body's hash, which Claude
# Code and the Anthropic SDKs never do, so every POST would fail with SignatureDoesNotMatch.
#
# It belongs to the alias, not to `$LATEST`. create_before_destroy: a deployment made before the
# alias existed had its URL on the unqualified function; the alias URL (a new host name) is made
# first, CloudFront is moved to it (the apply waits for the distribution to deploy), and only then
# is the old one deleted, so upgrading does not cut traffic.
resource "aws_lambda_function_url" "chatrix" {
  #checkov:skip=CKV_AWS_258:Auth type NONE on purpose: OAC (AWS_IAM) would reject every POST from Claude Code, which cannot send x-amz-content-sha256. The gateway requires an API key and CloudFront's origin secret on every request.
  function_name      = aws_lambda_function.chatrix.function_name
  qualifier          = aws_lambda_alias.live.name
  authorization_type = "NONE"
  # Without streaming the adapter buffers the whole response and SSE arrives in one lump.
  invoke_mode = "RESPONSE_STREAM"

  lifecycle {
    create_before_destroy = true
  }
}

# A NONE-auth URL needs both grants, on the alias the URL belongs to. The provider also adds its own
# pair (unmanaged) when it creates the URL; these are declared so the public grant is visible here
# and restored if removed.
resource "aws_lambda_permission" "function_url" {
  #checkov:skip=CKV_AWS_301:Public by design at the Lambda layer (function URL with auth NONE, see above); the gateway enforces the API key and the CloudFront origin secret.
  statement_id           = "ChatrixFunctionUrlPublic"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.chatrix.function_name
  qualifier              = aws_lambda_alias.live.name
  principal              = "*"
  function_url_auth_type = "NONE"

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lambda_permission" "function_url_invoke" {
  #checkov:skip=CKV_AWS_301:Public only through the function URL (invoked_via_function_url); direct Invoke calls are still refused.
  statement_id             = "ChatrixFunctionUrlInvoke"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.chatrix.function_name
  qualifier                = aws_lambda_alias.live.name
  principal                = "*"
  invoked_via_function_url = true

  lifecycle {
    create_before_destroy = true
  }
}
