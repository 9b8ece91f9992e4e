# What clients and the release workflow need. `github_variables` maps the GitHub repository
# variables the release workflow reads to their values (docs/deployment.md sets them with `gh`).

output "public_url" {
  description = "The API's base URL: ANTHROPIC_BASE_URL for Claude Code and the SDKs (the custom domain when set, else the CloudFront domain)."
  value       = local.public_url
}

output "function_url" {
  description = "The Lambda function URL behind CloudFront. It answers every request without CloudFront's origin header with 403; use public_url."
  value       = aws_lambda_function_url.chatrix.function_url
}

output "cloudfront_domain_name" {
  description = "The distribution's own domain (*.cloudfront.net), also when a custom domain is set."
  value       = aws_cloudfront_distribution.chatrix.domain_name
}

output "cloudfront_distribution_id" {
  description = "The distribution's id: for invalidations, `aws cloudfront get-distribution`, and its metrics (AWS/CloudFront, in us-east-1)."
  value       = aws_cloudfront_distribution.chatrix.id
}

output "ecr_repository_url" {
  description = "ECR repository URL (ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME) images are pushed to."
  value       = aws_ecr_repository.chatrix.repository_url
}

output "function_name" {
  description = "The Lambda function's name."
  value       = aws_lambda_function.chatrix.function_name
}

output "function_arn" {
  description = "The Lambda function's unqualified ARN (its `$LATEST`)."
  value       = aws_lambda_function.chatrix.arn
}

output "alias_arn" {
  description = "ARN of the `live` alias: what the function URL, so CloudFront, serves. Roll back with `aws lambda update-alias --function-name NAME --name live --function-version N` (docs/releasing.md)."
  value       = aws_lambda_alias.live.arn
}

output "region" {
  description = "The Region of the function, its repository and logs."
  value       = var.region
}

output "deploy_role_arn" {
  description = "ARN of the role the release workflow assumes (null when github_repository is empty)."
  value       = one(aws_iam_role.deploy[*].arn)
}

output "api_key_secret_arn" {
  description = "The Secrets Manager secret holding the API keys: fill it with `aws secretsmanager put-secret-value`."
  value       = local.api_key_secret_arn
}

output "ledger_table" {
  description = "The spend ledger's DynamoDB table (CHATRIX_LEDGER_TABLE for `chatrix usage`); null with spend_ledger = false."
  value       = one(aws_dynamodb_table.ledger[*].name)
}

output "log_group_name" {
  description = "CloudWatch log group with one line per request (model, key name, tokens, cost)."
  value       = aws_cloudwatch_log_group.chatrix.name
}

output "github_variables" {
  description = "GitHub repository variables for the release workflow, by name; set every one (docs/deployment.md, step 5). DEPLOY_ENVIRONMENT must be a repository-level variable: the workflow needs it before it enters the environment."
  value = {
    AWS_REGION           = var.region
    AWS_DEPLOY_ROLE_ARN  = one(aws_iam_role.deploy[*].arn)
    DEPLOY_ENVIRONMENT   = var.github_environment
    ECR_REPOSITORY       = aws_ecr_repository.chatrix.repository_url
    LAMBDA_FUNCTION_NAME = aws_lambda_function.chatrix.function_name
    PUBLIC_URL           = local.public_url
  }
}
