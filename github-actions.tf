# The role the release workflow assumes through GitHub's OIDC provider: push images to this one
# ECR repository and point this one function at them. Nothing else: it cannot change the function's
# configuration, role or URL, read the secret, or touch any other repository or function.
# Created only when `github_repository` is set.

locals {
  create_deploy_role = var.github_repository != ""
  github_oidc_host   = "token.actions.githubusercontent.com"

  # The `sub` claims a job running in the deployment environment may present, whatever branch or
  # tag triggered it. GitHub issues the id form (`OWNER@<owner id>/NAME@<repo id>`) for
  # repositories created, renamed or transferred since its immutable subject claims (2026-07-15)
  # or opted in, and the name form for older ones
  # (https://github.blog/changelog/2026-04-23-immutable-subject-claims-for-github-actions-oidc-tokens/,
  # github/docs#45221). Both are accepted because the policy also pins `repository_id`, which no
  # other repository can present: a recycled name gains nothing, and the operator need not know
  # which form the repository issues. checks.tf refuses to plan without the ids.
  github_owner = split("/", var.github_repository)[0]
  github_repo  = try(split("/", var.github_repository)[1], "")
  github_ids   = var.github_repository_ids == null ? { owner = 0, repository = 0 } : var.github_repository_ids
  github_subjects = [
    "repo:${local.github_owner}@${local.github_ids.owner}/${local.github_repo}@${local.github_ids.repository}:environment:${var.github_environment}",
    "repo:${local.github_owner}/${local.github_repo}:environment:${var.github_environment}",
  ]

  github_oidc_provider_arn = (var.create_github_oidc_provider
    ? one(aws_iam_openid_connect_provider.github[*].arn)
    : one(data.aws_iam_openid_connect_provider.github[*].arn)
  )
}

# One per account: several stacks share it. Set create_github_oidc_provider = false where it exists.
resource "aws_iam_openid_connect_provider" "github" {
  count = local.create_deploy_role && var.create_github_oidc_provider ? 1 : 0

  url            = "https://${local.github_oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
  # IAM trusts GitHub's issuer through its own root CAs and ignores thumbprints for it; they are
  # listed because older provider versions still require the argument.
  thumbprint_list = [
    "6938fd4d98bab03faadb97b34396831e3780aea1",
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
  ]
}

data "aws_iam_openid_connect_provider" "github" {
  count = local.create_deploy_role && !var.create_github_oidc_provider ? 1 : 0

  url = "https://${local.github_oidc_host}"
}

resource "aws_iam_role" "deploy" {
  count = local.create_deploy_role ? 1 : 0

  name                 = "${var.name}-github-deploy"
  description          = "Release workflow of ${var.github_repository} (environment ${var.github_environment}): push the Chatrix image, update the function's code"
  max_session_duration = 3600

  # Only jobs of this repository (by immutable id) running in the deployment environment. Pull
  # requests, jobs outside the environment and forks get other subjects. `repository_id` is one of
  # the GitHub claims STS exposes as condition keys since January 2026
  # (https://aws.amazon.com/about-aws/whats-new/2026/01/aws-sts-supports-validation-identity-provider-claims/);
  # a token without it matches nothing, so the role fails closed.
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = local.github_oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${local.github_oidc_host}:aud"           = "sts.amazonaws.com"
          "${local.github_oidc_host}:sub"           = local.github_subjects
          "${local.github_oidc_host}:repository_id" = tostring(local.github_ids.repository)
        }
      }
    }]
  })

  depends_on = [terraform_data.input_checks]
}

data "aws_iam_policy_document" "deploy" {
  # Registry logins are account-wide; this action cannot be scoped to a repository.
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  # Push (and the reads a push and Lambda's image check need) on this repository only.
  statement {
    sid = "EcrPush"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = [aws_ecr_repository.chatrix.arn]
  }

  # Deploy = point the function at a new image, wait for the update, publish it as a version and
  # move the `live` alias (what the function URL serves) to it; rollback = move the alias back.
  # The ARNs are spelled out rather than taken from the function, so the role can exist before the
  # function does (the Docker-less bootstrap in docs/deployment.md); `:*` covers the alias and the
  # numbered versions the waiters read. GetFunction also shows the environment, origin secret
  # included; a role that can replace the code could learn it anyway.
  statement {
    sid = "LambdaDeploy"
    actions = [
      "lambda:GetAlias",
      "lambda:GetFunction",
      "lambda:GetFunctionConfiguration",
      "lambda:PublishVersion",
      "lambda:UpdateAlias",
      "lambda:UpdateFunctionCode",
    ]
    resources = [
      "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${var.name}",
      "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${var.name}:*",
    ]
  }
}

resource "aws_iam_role_policy" "deploy" {
  count = local.create_deploy_role ? 1 : 0

  name   = "chatrix-deploy"
  role   = aws_iam_role.deploy[0].id
  policy = data.aws_iam_policy_document.deploy.json
}
