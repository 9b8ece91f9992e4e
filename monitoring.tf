# Alarms on the function and the distribution, and an optional AWS Budgets guard on Bedrock spend.
# Inputs in variables-operations.tf. The alarms always exist (they cost cents a month) and notify
# only when an SNS topic is given; the budget exists only when bedrock_budget_usd is set.

locals {
  alarm_actions = var.alarm_sns_topic_arn == "" ? [] : [var.alarm_sns_topic_arn]

  # CloudFront's metrics, so its alarm, live in us-east-1, and an alarm notifies only a topic in
  # its own Region: the main topic serves when it is there.
  cloudfront_alarm_topic = (var.cloudfront_alarm_sns_topic_arn != ""
    ? var.cloudfront_alarm_sns_topic_arn
    : (can(regex(":sns:us-east-1:", var.alarm_sns_topic_arn)) ? var.alarm_sns_topic_arn : "")
  )
  cloudfront_alarm_actions = local.cloudfront_alarm_topic == "" ? [] : [local.cloudfront_alarm_topic]

  concurrency_limit     = var.reserved_concurrency > 0 ? var.reserved_concurrency : var.account_concurrency_limit
  concurrency_threshold = max(1, floor(local.concurrency_limit * var.alarm_concurrency_percent / 100))
}

# Invocation errors: the process crashed, ran out of memory or hit the function timeout. A request
# the gateway answers with an error status is a successful invocation and does not count.
resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  alarm_name          = "${var.name}-lambda-errors"
  alarm_description   = "Chatrix: ${var.alarm_lambda_errors}+ Lambda invocation errors (crash, timeout, out of memory) in 5 minutes. Look for 'Task timed out' or a panic in /aws/lambda/${var.name}."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.chatrix.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.alarm_lambda_errors
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Throttles: requests Lambda refused (429 to the client) because the reserved or account
# concurrency was used up.
resource "aws_cloudwatch_metric_alarm" "lambda_throttles" {
  alarm_name          = "${var.name}-lambda-throttles"
  alarm_description   = "Chatrix: Lambda throttled requests (clients got 429) in the last 5 minutes: concurrency limit reached. Raise reserved_concurrency or the account quota."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.chatrix.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Each open stream holds an execution environment, so concurrency is the number of requests in
# flight: this fires before the limit turns into throttles.
resource "aws_cloudwatch_metric_alarm" "lambda_concurrency" {
  alarm_name          = "${var.name}-lambda-concurrency"
  alarm_description   = "Chatrix: ${local.concurrency_threshold}+ concurrent executions, ${var.alarm_concurrency_percent}% of the limit of ${local.concurrency_limit} (${var.reserved_concurrency > 0 ? "reserved_concurrency" : "account_concurrency_limit"}). Throttling starts at the limit."
  namespace           = "AWS/Lambda"
  metric_name         = "ConcurrentExecutions"
  dimensions          = { FunctionName = aws_lambda_function.chatrix.function_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = local.concurrency_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# What users see: the share of requests answered 5xx at the edge, the gateway's own included.
resource "aws_cloudwatch_metric_alarm" "cloudfront_5xx" {
  provider = aws.us_east_1

  alarm_name          = "${var.name}-cloudfront-5xx"
  alarm_description   = "Chatrix: over ${var.alarm_cloudfront_5xx_percent}% of requests answered 5xx at CloudFront for 10 minutes (distribution ${aws_cloudfront_distribution.chatrix.id}). The gateway's log lines carry the status and the cause."
  namespace           = "AWS/CloudFront"
  metric_name         = "5xxErrorRate"
  dimensions          = { DistributionId = aws_cloudfront_distribution.chatrix.id, Region = "Global" }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 2
  threshold           = var.alarm_cloudfront_5xx_percent
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.cloudfront_alarm_actions
  ok_actions          = local.cloudfront_alarm_actions
}

# A monthly budget on the account's Bedrock spend (every caller in the account, not only this
# gateway: Budgets filters by service, and the gateway's calls carry no tag of their own). It
# alerts by email; it never stops traffic. Cost data lags by up to a day, so the forecast alert is
# the early one. The gateway's own per-request cost log is the real-time view.
resource "aws_budgets_budget" "bedrock" {
  count = var.bedrock_budget_usd == null ? 0 : 1

  name         = "${var.name}-bedrock-monthly"
  budget_type  = "COST"
  limit_amount = format("%.2f", var.bedrock_budget_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

  cost_filter {
    name   = "Service"
    values = var.budget_services
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 80
    threshold_type             = "PERCENTAGE"
    notification_type          = "ACTUAL"
    subscriber_email_addresses = var.budget_alert_emails
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 100
    threshold_type             = "PERCENTAGE"
    notification_type          = "ACTUAL"
    subscriber_email_addresses = var.budget_alert_emails
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 100
    threshold_type             = "PERCENTAGE"
    notification_type          = "FORECASTED"
    subscriber_email_addresses = var.budget_alert_emails
  }

  depends_on = [terraform_data.input_checks]
}
