# Inputs for operating the deployment: WAF, alarms, the Bedrock spend budget. All optional: the
# defaults create the alarms without actions and no budget. monitoring.tf uses them;
# docs/deployment.md ("Operating it") explains each.

variable "web_acl_id" {
  description = "ARN of an AWS WAF (v2) web ACL to attach to the distribution. It must have scope CLOUDFRONT, which means it lives in us-east-1. Null (the default) attaches none. Set it here rather than in the console: the distribution is managed here, so a web ACL attached by hand is detached by the next apply."
  type        = string
  default     = null

  validation {
    condition     = var.web_acl_id == null || can(regex("^arn:aws[a-z-]*:wafv2:us-east-1:[0-9]{12}:global/webacl/.+$", var.web_acl_id))
    error_message = "web_acl_id: null, or a WAFv2 web ACL ARN with scope CLOUDFRONT (arn:aws:wafv2:us-east-1:ACCOUNT:global/webacl/NAME/ID)."
  }
}

# --- Alarms -----------------------------------------------------------------------------------

variable "alarm_sns_topic_arn" {
  description = "SNS topic that the alarms in var.region notify (Lambda errors, throttles, concurrency), on alarm and on recovery. Empty (the default) creates the alarms without actions: they show in the CloudWatch console only."
  type        = string
  default     = ""

  validation {
    condition     = var.alarm_sns_topic_arn == "" || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.alarm_sns_topic_arn))
    error_message = "alarm_sns_topic_arn: empty, or an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)."
  }
}

variable "cloudfront_alarm_sns_topic_arn" {
  description = "SNS topic in us-east-1 that the CloudFront 5xx alarm notifies. CloudFront publishes its metrics in us-east-1 only, so that alarm lives there, and an alarm can only notify a topic in its own Region. Empty (the default) uses alarm_sns_topic_arn when that topic is in us-east-1, and no action otherwise."
  type        = string
  default     = ""

  validation {
    condition     = var.cloudfront_alarm_sns_topic_arn == "" || can(regex("^arn:aws[a-z-]*:sns:us-east-1:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.cloudfront_alarm_sns_topic_arn))
    error_message = "cloudfront_alarm_sns_topic_arn: empty, or an SNS topic ARN in us-east-1 (arn:aws:sns:us-east-1:ACCOUNT:NAME)."
  }
}

variable "alarm_lambda_errors" {
  description = "Lambda invocation errors (crashes, timeouts, out-of-memory) in 5 minutes that raise the errors alarm. The gateway's own 4xx/5xx answers are successful invocations and are not counted."
  type        = number
  default     = 3

  validation {
    condition     = var.alarm_lambda_errors >= 1 && floor(var.alarm_lambda_errors) == var.alarm_lambda_errors
    error_message = "alarm_lambda_errors: a whole number >= 1."
  }
}

variable "alarm_concurrency_percent" {
  description = "Percentage of the concurrency limit at which the concurrency alarm fires. The limit is reserved_concurrency when it is set, else account_concurrency_limit."
  type        = number
  default     = 80

  validation {
    condition     = var.alarm_concurrency_percent > 0 && var.alarm_concurrency_percent <= 100
    error_message = "alarm_concurrency_percent: a number above 0, at most 100."
  }
}

variable "account_concurrency_limit" {
  description = "The account's Lambda concurrent-executions quota in var.region (Service Quotas, \"Concurrent executions\"; 1,000 unless raised, lower on some new accounts). Used only for the concurrency alarm when reserved_concurrency is -1."
  type        = number
  default     = 1000

  validation {
    condition     = var.account_concurrency_limit >= 10 && floor(var.account_concurrency_limit) == var.account_concurrency_limit
    error_message = "account_concurrency_limit: a whole number >= 10."
  }
}

variable "alarm_cloudfront_5xx_percent" {
  description = "Average CloudFront 5xxErrorRate (percent of all requests, over 5 minutes, two periods in a row) that raises the 5xx alarm. It counts the gateway's own 5xx (503 no keys, 529 Bedrock overloaded, 504 timeouts) as well as CloudFront's."
  type        = number
  default     = 5

  validation {
    condition     = var.alarm_cloudfront_5xx_percent > 0 && var.alarm_cloudfront_5xx_percent <= 100
    error_message = "alarm_cloudfront_5xx_percent: a number above 0, at most 100."
  }
}

# --- Spend guard ------------------------------------------------------------------------------

variable "bedrock_budget_usd" {
  description = "Monthly AWS Budgets limit, in USD, on the account's Bedrock spend (the services in budget_services). Null (the default) creates no budget. Budgets alert; they never stop traffic: reserved_concurrency is the hard brake. Needs budgets:* permissions for whoever applies (see docs/deployment.md)."
  type        = number
  default     = null

  validation {
    condition     = var.bedrock_budget_usd == null || try(var.bedrock_budget_usd > 0, false)
    error_message = "bedrock_budget_usd: null, or a positive number of USD."
  }
}

variable "budget_services" {
  description = "Cost Explorer service names the budget counts. \"Amazon Bedrock\" is Bedrock's own; if Cost Explorer lists your Claude usage under other service names (check its Service filter after the first day of traffic), add them."
  type        = list(string)
  default     = ["Amazon Bedrock"]

  validation {
    condition     = length(var.budget_services) > 0
    error_message = "budget_services: at least one Cost Explorer service name."
  }
}

variable "budget_alert_emails" {
  description = "Addresses AWS Budgets emails when actual spend passes 80% and 100% of bedrock_budget_usd, and when the month's forecast passes 100%. Required when bedrock_budget_usd is set (up to 10)."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.budget_alert_emails) <= 10 && alltrue([for e in var.budget_alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "budget_alert_emails: at most 10 email addresses."
  }
}
