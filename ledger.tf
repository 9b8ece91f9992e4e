# --- Spend ledger (docs/budgets.md) ---------------------------------------------------------------

# Budgets, rate limits and usage rows shared by every instance of the function. The schema is fixed
# by the gateway (src/ledger/plan.rs): partition key pk (S), sort key sk (S), TTL on expires_at (N).
resource "aws_dynamodb_table" "ledger" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with KMS under the AWS-managed key aws/dynamodb; the items hold key names, token counts and costs (never keys, prompts or completions), so a customer-managed key would add cost and a key policy without protecting anything more.
  count = var.spend_ledger ? 1 : 0

  name         = "${var.name}-ledger"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  # Minute counters expire after two minutes, spend and usage rows after 40 or 400 days.
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  # The usage rows are the spend record the reports read: keep 35 days of restore points.
  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

locals {
  ledger_environment = var.spend_ledger ? { CHATRIX_LEDGER_TABLE = aws_dynamodb_table.ledger[0].name } : {}
}

# What src/ledger/dynamo.rs calls, on this table only: UpdateItem (reservations and settlements),
# GetItem (the counter's values after a refused condition, for servers that do not return them)
# and Query (the report endpoints read a day's usage partition).
data "aws_iam_policy_document" "ledger" {
  count = var.spend_ledger ? 1 : 0

  statement {
    sid       = "SpendLedger"
    actions   = ["dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:Query"]
    resources = [aws_dynamodb_table.ledger[0].arn]
  }
}

resource "aws_iam_role_policy" "ledger" {
  count = var.spend_ledger ? 1 : 0

  name   = "chatrix-ledger"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.ledger[0].json
}
