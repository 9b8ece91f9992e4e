# Checks between inputs, made before anything is planned. A variable's own validation may refer
# only to itself in OpenTofu and in Terraform before 1.9, so rules that tie two inputs together
# are preconditions here. They depend on nothing but variables, which lets tests/infra-check plan
# this file with variables*.tf alone, offline, to show that each rule refuses what it should.
# terraform_data is built in (no provider download) and holds nothing.

resource "terraform_data" "input_checks" {
  lifecycle {
    # Since GitHub's immutable OIDC subjects (2026-07-15), a new, renamed or transferred
    # repository presents `repo:OWNER@<owner id>/NAME@<repo id>:...`; the trust policy needs the
    # ids to match it, and pins the repository by id whichever form it presents
    # (github-actions.tf). Without them the first release would fail with AccessDenied.
    precondition {
      condition     = var.github_repository == "" || var.github_repository_ids != null
      error_message = "github_repository is set, so github_repository_ids is required: the deploy role trusts the repository by its immutable ids. Get them with `gh api repos/${var.github_repository} --jq '.owner.id, .id'` and set github_repository_ids = { owner = <first>, repository = <second> } in terraform.tfvars."
    }

    precondition {
      condition     = var.bedrock_budget_usd == null || length(var.budget_alert_emails) > 0
      error_message = "bedrock_budget_usd is set but budget_alert_emails is empty: a budget with no subscriber alerts nobody. Add at least one address."
    }

    precondition {
      condition     = var.alarm_sns_topic_arn == "" || try(split(":", var.alarm_sns_topic_arn)[3] == var.region, false)
      error_message = "alarm_sns_topic_arn must be a topic in var.region (${var.region}): a CloudWatch alarm can only notify a topic in its own Region. The CloudFront alarm (us-east-1) has its own input, cloudfront_alarm_sns_topic_arn."
    }

    # main.tf merges the ledger's CHATRIX_LEDGER_TABLE over extra_environment, so a table named
    # there would be dropped without a word while the role may use only the table ledger.tf makes.
    precondition {
      condition     = !(var.spend_ledger && contains(keys(var.extra_environment), "CHATRIX_LEDGER_TABLE"))
      error_message = "extra_environment sets CHATRIX_LEDGER_TABLE, but spend_ledger = true creates the ledger table and sets CHATRIX_LEDGER_TABLE to it (the function's role may use only that table). Remove CHATRIX_LEDGER_TABLE from extra_environment, or set spend_ledger = false and grant the role dynamodb:UpdateItem, GetItem and Query on your own table (docs/budgets.md)."
    }

    precondition {
      condition     = var.domain_name == "" || var.route53_zone_id != ""
      error_message = "domain_name is set but route53_zone_id is empty: the certificate is validated, and the alias records created, in that hosted zone."
    }
  }
}
