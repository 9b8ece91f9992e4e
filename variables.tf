# Inputs. Every one has a safe default except where noted; a `terraform.tfvars` (or
# `*.auto.tfvars`) with `github_repository` and, optionally, `domain_name` + `route53_zone_id` is
# all most deployments need. docs/deployment.md walks through them.

# --- Naming and placement ---------------------------------------------------------------------

variable "name" {
  description = "Name of the deployment: the Lambda function, ECR repository, log group (`/aws/lambda/<name>`), IAM roles (`<name>-lambda`, `<name>-github-deploy`) and the created secret (`<name>/api-keys`)."
  type        = string
  default     = "chatrix"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.name))
    error_message = "name: 3-40 characters, lowercase letters, digits and '-', starting with a letter (it must fit ECR, Lambda and IAM role names with their suffixes)."
  }
}

variable "region" {
  description = "AWS Region for the function, its ECR repository, logs and secret. Bedrock is called from here; cross-Region inference profiles then route within their geography. CloudFront and its certificate are global (the certificate lives in us-east-1 regardless)."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2,4}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region: an AWS Region code such as us-east-1 or eu-central-1."
  }
}

variable "tags" {
  description = "Extra tags applied to every resource (through the providers' default_tags)."
  type        = map(string)
  default     = {}
}

# --- Lambda function --------------------------------------------------------------------------

variable "image_tag" {
  description = "Image tag in the ECR repository the function is CREATED from. Only the first apply uses it: later deployments are made by the release workflow (`aws lambda update-function-code`), and the function ignores changes to its image URI, so an apply never rolls a release back. The image must exist before the function is created; see the bootstrap in docs/deployment.md."
  type        = string
  default     = "latest"

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag: a Docker tag (letters, digits, '_', '.', '-', at most 128 characters)."
  }
}

variable "memory_size" {
  description = "Lambda memory in MB. CPU is allotted in proportion (1,769 MB is one vCPU). 512 suits the gateway: docs/performance.md measured about 22 MB of RSS under load and 0.2 ms of CPU per request; more memory buys CPU, hence latency, not room."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size: a whole number of MB from 128 to 10240."
  }
}

variable "timeout" {
  description = "Lambda timeout in seconds: the longest a single request (a whole streamed generation included) may run. 900 s is Lambda's maximum and the default, so long thinking or long outputs are never cut; CloudFront only bounds silence (see origin_read_timeout)."
  type        = number
  default     = 900

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout: a whole number of seconds from 1 to 900 (Lambda's maximum)."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions: a hard cap on simultaneous requests (each open stream holds one execution environment), which also caps Bedrock spend per minute; requests past it get 429 from Lambda. -1 (the default) leaves the function unreserved, in the account's shared pool; 0 stops all traffic (an emergency brake). Lambda refuses a reservation that would leave the account fewer than 100 unreserved executions (InvalidParameterValueException: \"... decreases account's UnreservedConcurrentExecution below its minimum value of [100]\"; the bracketed number is the account's floor), so any positive value fails on an account whose quota is still a new account's 10, and N fails unless the quota is at least N + 100 plus what other functions reserve. Raise the quota first (Service Quotas, Lambda, \"Concurrent executions\")."
  type        = number
  default     = -1

  validation {
    condition     = var.reserved_concurrency >= -1 && floor(var.reserved_concurrency) == var.reserved_concurrency
    error_message = "reserved_concurrency: -1 (unreserved) or a whole number >= 0."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function's logs. Chatrix logs one line per request (request id, model, key name, tokens, cost; never keys or prompts), so a year of them is small and makes cost per key queryable for that long."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days: one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "extra_environment" {
  description = "Additional environment variables for the function, e.g. `{ CHATRIX_CURRENCY = \"INR\", CHATRIX_CURRENCY_RATE = \"84\", RUST_LOG = \"debug\" }` (docs/configuration.md lists them). The variables this configuration manages itself cannot be overridden here. Do not put API keys here (`CHATRIX_API_KEYS`): anyone who can read the function's configuration would see them; use the secret."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([
      for k in keys(var.extra_environment) : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", k)) && !contains([
        "CHATRIX_BEDROCK", "CHATRIX_API_KEY_SECRET_ID", "CHATRIX_INFERENCE_PROFILE", "CHATRIX_ORIGIN_SECRET",
        "CHATRIX_LOG_FORMAT", "CHATRIX_CORS_ORIGINS", "AWS_LWA_INVOKE_MODE", "AWS_LWA_READINESS_CHECK_PATH",
        "AWS_LWA_PORT", "PORT", "HOST", "AWS_LWA_HOST", "AWS_LWA_READINESS_CHECK_PORT", "AWS_LWA_ENABLE_COMPRESSION",
        "CHATRIX_UPSTREAMS", "CHATRIX_PROFILE_FALLBACK",
      ], k)
    ])
    error_message = "extra_environment: keys must be environment variable names, and not one this configuration sets itself (CHATRIX_BEDROCK, CHATRIX_API_KEY_SECRET_ID, CHATRIX_INFERENCE_PROFILE, CHATRIX_ORIGIN_SECRET, CHATRIX_LOG_FORMAT, CHATRIX_CORS_ORIGINS, AWS_LWA_INVOKE_MODE, AWS_LWA_READINESS_CHECK_PATH, AWS_LWA_PORT, PORT, HOST, AWS_LWA_HOST, AWS_LWA_READINESS_CHECK_PORT, AWS_LWA_ENABLE_COMPRESSION: the adapter must reach the gateway on 127.0.0.1:3000 and must not compress or buffer streams; CHATRIX_UPSTREAMS and CHATRIX_PROFILE_FALLBACK, which IAM follows: bedrock_upstreams and inference_profile_fallback); use the matching variable instead."
  }
}

variable "cors_origins" {
  description = "Browser origins allowed to call the API (CHATRIX_CORS_ORIGINS), e.g. [\"https://app.example.com\"], or [\"*\"]. Empty (the default) sends no CORS headers, which is right for Claude Code and the SDKs. The gateway answers CORS itself; the function URL's own CORS setting stays off so the two never disagree."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for o in var.cors_origins : o == "*" || can(regex("^https?://[^/,\\s]+$", o))])
    error_message = "cors_origins: each entry is \"*\" or an origin like https://app.example.com (scheme and host[:port], no path, no commas)."
  }
}

# --- Bedrock ----------------------------------------------------------------------------------

variable "bedrock_models" {
  description = "Bedrock foundation model ids (bare, without a geography prefix) the function may invoke; IAM allows exactly these, each through its inference profile. Defaults to the Claude models of the 4.5 generation onward in src/models.json (older ones are deprecated). Add e.g. \"anthropic.claude-sonnet-4-20250514-v1:0\" to serve it."
  type        = list(string)
  default = [
    "anthropic.claude-sonnet-4-5-20250929-v1:0",
    "anthropic.claude-haiku-4-5-20251001-v1:0",
    "anthropic.claude-opus-4-5-20251101-v1:0",
    "anthropic.claude-sonnet-4-6",
    "anthropic.claude-opus-4-6-v1",
    "anthropic.claude-opus-4-7",
    "anthropic.claude-opus-4-8",
    "anthropic.claude-sonnet-5",
    "anthropic.claude-opus-5",
    "anthropic.claude-fable-5",
    "anthropic.claude-fable-5-1",
    "anthropic.claude-opus-5-5",
    "anthropic.claude-sonnet-5-5",
    "anthropic.claude-haiku-5-5",
    "anthropic.claude-fable-5-2",
  ]

  validation {
    condition = length(var.bedrock_models) > 0 && alltrue([
      for id in var.bedrock_models :
      can(regex("^[a-z0-9-]+\\.[A-Za-z0-9._:-]+$", id)) && !can(regex("^(global|us|us-gov|eu|apac|jp|au)\\.", id))
    ])
    error_message = "bedrock_models: at least one bare foundation model id such as anthropic.claude-sonnet-4-5-20250929-v1:0; no geography prefix (that comes from inference_profile) and no ARN."
  }
}

variable "allow_new_claude_models" {
  description = "Also allow every Anthropic Claude model through any of the account's inference profiles (foundation-model/anthropic.claude-* and inference-profile/*.anthropic.claude-*), so that a model launched after this deployment, which the gateway serves by its naming rule (docs/models.md), and the profile model discovery picks when the configured one is missing, are not refused by IAM. Set false to allow exactly bedrock_models through inference_profile."
  type        = bool
  default     = true
}

variable "inference_profile" {
  description = "Cross-Region inference profile geography catalog names map to (CHATRIX_INFERENCE_PROFILE): global, us, eu, apac, jp, au, or none for bare in-Region ids. IAM follows the same rule as the gateway: with global, a model without a global profile uses its first listed one (src/models.json). Pick a geography for data residency (requests then stay in it); global is about 10% cheaper for recent models."
  type        = string
  default     = "global"

  validation {
    condition     = contains(["global", "us", "eu", "apac", "jp", "au", "none"], var.inference_profile)
    error_message = "inference_profile: one of global, us, eu, apac, jp, au, none."
  }
}

# --- API keys ---------------------------------------------------------------------------------

variable "bedrock_upstreams" {
  description = "The upstream pool (CHATRIX_UPSTREAMS, docs/failover.md): Regions in order of preference, each called with the function's own role or, with role_arn, through that role (in this or another account; its trust policy must allow the function's role, docs/deployment.md). A throttled request moves to the next entry. Empty: one upstream, var.region. IAM follows the list: bedrock:InvokeModel* on the allowed models' profiles in the Regions without a role only (the models themselves by id in any Region, as cross-Region profiles need), sts:AssumeRole on exactly the listed roles."
  type = list(object({
    region   = string
    role_arn = optional(string)
  }))
  default = []

  validation {
    condition = alltrue([
      for u in var.bedrock_upstreams :
      can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", u.region)) &&
      (u.role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", u.role_arn)))
    ]) && length(distinct([for u in var.bedrock_upstreams : "${u.region}@${coalesce(u.role_arn, "-")}"])) == length(var.bedrock_upstreams)
    error_message = "bedrock_upstreams: each entry is { region = \"us-west-2\" } or { region = \"us-west-2\", role_arn = \"arn:aws:iam::123456789012:role/NAME\" }, each at most once."
  }
}

variable "inference_profile_fallback" {
  description = "Inference-profile geographies a model may also be called through after inference_profile when its upstreams throttle (CHATRIX_PROFILE_FALLBACK, docs/failover.md), e.g. [\"us\", \"global\"]. A geography's profile is only sent to (and allowed in) Regions of that geography. Leave empty to keep every request in inference_profile's geography."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for g in var.inference_profile_fallback : contains(["global", "us", "eu", "apac", "jp", "au"], g)]) && length(distinct(var.inference_profile_fallback)) == length(var.inference_profile_fallback)
    error_message = "inference_profile_fallback: a list of global, us, eu, apac, jp, au, each at most once."
  }
}

variable "api_key_secret_arn" {
  description = "Full ARN (with its 6-character suffix) of an existing Secrets Manager secret holding the API keys. Empty (the default) creates an empty secret `<name>/api-keys`; fill it with `aws secretsmanager put-secret-value` (docs/deployment.md). Either way the value never passes through this configuration or its state."
  type        = string
  default     = ""

  validation {
    condition     = var.api_key_secret_arn == "" || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$", var.api_key_secret_arn))
    error_message = "api_key_secret_arn: empty, or a complete secret ARN ending in the 6-character suffix Secrets Manager adds (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf)."
  }
}

variable "api_key_secret_kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts an existing secret (api_key_secret_arn), so the function may decrypt it. Empty when the secret uses the AWS-managed key, as the created one does."
  type        = string
  default     = ""

  validation {
    condition     = var.api_key_secret_kms_key_arn == "" || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.api_key_secret_kms_key_arn))
    error_message = "api_key_secret_kms_key_arn: empty, or a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "spend_ledger" {
  description = "Create the DynamoDB table for budgets, rate limits and usage reports (ledger.tf, docs/budgets.md) and set CHATRIX_LEDGER_TABLE on the function. false: limits in the key secret hold per Lambda instance only, and the reports and `chatrix usage` have no table to read."
  type        = bool
  default     = true
}

# --- Container registry -----------------------------------------------------------------------

variable "ecr_keep_images" {
  description = "Tagged images kept in the ECR repository; older ones expire (untagged ones after a day). Keep enough to roll back to: a rollback moves the `live` alias to an older published version, which can only start while its image is still in the repository."
  type        = number
  default     = 20

  validation {
    condition     = var.ecr_keep_images >= 2 && var.ecr_keep_images <= 1000 && floor(var.ecr_keep_images) == var.ecr_keep_images
    error_message = "ecr_keep_images: a whole number from 2 to 1000."
  }
}

variable "ecr_force_delete" {
  description = "Let `destroy` delete the ECR repository while it still holds images. Off by default, so a destroy cannot silently drop every release."
  type        = bool
  default     = false
}

# --- Public endpoint (CloudFront) -------------------------------------------------------------

variable "domain_name" {
  description = "Custom domain for the API, e.g. \"llm.example.com\". Requires route53_zone_id: the certificate is validated and the alias records created in that zone. Empty (the default) serves on the distribution's own *.cloudfront.net domain."
  type        = string
  default     = ""

  validation {
    condition     = var.domain_name == "" || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$", var.domain_name))
    error_message = "domain_name: empty, or a lowercase host name such as llm.example.com (no scheme, no trailing dot)."
  }
}

variable "route53_zone_id" {
  description = "ID of the public Route 53 hosted zone that contains domain_name (e.g. Z0123456789ABCDEFGHIJ). Required when domain_name is set, ignored otherwise."
  type        = string
  default     = ""

  validation {
    condition     = var.route53_zone_id == "" || can(regex("^Z[A-Z0-9]{1,31}$", var.route53_zone_id))
    error_message = "route53_zone_id: empty, or a hosted zone ID such as Z0123456789ABCDEFGHIJ."
  }
}

variable "price_class" {
  description = "CloudFront price class: which edge locations serve viewers. Nothing is cached, so the edge only terminates TLS near the user; responses are a few KB of tokens, so the dearer regions cost little. PriceClass_All gives the lowest latency everywhere."
  type        = string
  default     = "PriceClass_All"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.price_class)
    error_message = "price_class: PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "origin_read_timeout" {
  description = "Seconds CloudFront waits for the next bytes from the function before giving up (504). It bounds silence, not generation length: Chatrix sends an SSE ping after at most 15 s without upstream data (CHATRIX_PING_INTERVAL_SECS, default 10), so a stream is never silent that long. It does bound a non-streaming request, which answers only when Bedrock is done: raise it for long non-streaming generations. 60 is the most allowed without a CloudFront quota increase (\"Response timeout per origin\"); with one, up to 180."
  type        = number
  default     = 60

  validation {
    condition     = var.origin_read_timeout >= 1 && var.origin_read_timeout <= 180 && floor(var.origin_read_timeout) == var.origin_read_timeout
    error_message = "origin_read_timeout: a whole number of seconds from 1 to 180 (above 60 needs a CloudFront quota increase)."
  }
}

variable "origin_keepalive_timeout" {
  description = "Seconds CloudFront keeps an idle connection to the function URL open for reuse, sparing later requests a TLS handshake. 60 is the most allowed without a quota increase; with one, up to 180."
  type        = number
  default     = 60

  validation {
    condition     = var.origin_keepalive_timeout >= 1 && var.origin_keepalive_timeout <= 180 && floor(var.origin_keepalive_timeout) == var.origin_keepalive_timeout
    error_message = "origin_keepalive_timeout: a whole number of seconds from 1 to 180 (above 60 needs a CloudFront quota increase)."
  }
}

# --- GitHub Actions deployment ----------------------------------------------------------------

variable "github_repository" {
  description = "GitHub repository (\"owner/name\", exactly as GitHub spells it: the OIDC subject is case-sensitive) whose release workflow may push images and update the function, from its `github_environment` only. Empty creates no deploy role (deploy by hand instead)."
  type        = string
  default     = ""

  validation {
    condition     = var.github_repository == "" || can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository: empty, or \"owner/name\" such as acme/chatrix."
  }
}

variable "github_repository_ids" {
  description = "GitHub's immutable numeric ids of github_repository's owner and of the repository: { owner = 123456, repository = 456789 }, from `gh api repos/OWNER/NAME --jq '.owner.id, .id'` (owner first). Required whenever github_repository is set (checks.tf refuses to plan without them). The deploy role then trusts the repository by id (the `repository_id` claim) under either subject form GitHub issues: `repo:OWNER@123456/NAME@456789:environment:ENV` (repositories created, renamed or transferred since 2026-07-15, or opted in) and `repo:OWNER/NAME:environment:ENV` (older ones)."
  type = object({
    owner      = number
    repository = number
  })
  default = null

  validation {
    condition     = var.github_repository_ids == null || try(var.github_repository_ids.owner > 0 && var.github_repository_ids.repository > 0 && floor(var.github_repository_ids.owner) == var.github_repository_ids.owner && floor(var.github_repository_ids.repository) == var.github_repository_ids.repository, false)
    error_message = "github_repository_ids: { owner = <positive integer>, repository = <positive integer> } (or null when github_repository is empty)."
  }
}

variable "github_environment" {
  description = "GitHub environment the release job runs in. The workflow reads it from the repository variable DEPLOY_ENVIRONMENT (set it from `tofu output github_variables`), so the two cannot drift apart silently: only jobs in this environment can assume the deploy role. Protect it with branch and tag rules, and reviewers if wanted, in the repository settings."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,255}$", var.github_environment))
    error_message = "github_environment: a GitHub environment name (letters, digits, '.', '_', '-')."
  }
}

variable "create_github_oidc_provider" {
  description = "Create the account's IAM OIDC provider for token.actions.githubusercontent.com. An account can hold only one; set false when it already exists (another stack made it) and it is looked up instead."
  type        = bool
  default     = true
}
