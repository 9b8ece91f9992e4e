# --- Upstream pool (docs/failover.md) -------------------------------------------------------------

# With var.bedrock_upstreams the function calls Bedrock in several Regions, some through roles
# (often in other accounts), and moves a throttled request to the next one. IAM follows the pool
# and grants nothing more: the function's own role may invoke the allowed models' profiles in the
# Regions it calls with its own credentials (main.tf, InvokeAllowedModels, from local.own_regions)
# and may assume exactly the listed roles; what a role may do there is that role's own policy.

locals {
  upstream_entries = [
    for u in var.bedrock_upstreams : u.role_arn == null ? u.region : "${u.region}@${u.role_arn}"
  ]
  upstreams_environment = merge(
    length(var.bedrock_upstreams) > 0 ? { CHATRIX_UPSTREAMS = join(",", local.upstream_entries) } : {},
    length(var.inference_profile_fallback) > 0 ? { CHATRIX_PROFILE_FALLBACK = join(",", var.inference_profile_fallback) } : {},
  )

  # Discovery, count_tokens and application-profile lookups use the first upstream alone.
  primary_region = length(var.bedrock_upstreams) > 0 ? var.bedrock_upstreams[0].region : var.region
  # Regions the function calls Bedrock in with its own role: the entries without a role (just
  # var.region without a pool).
  own_regions = length(var.bedrock_upstreams) > 0 ? distinct([
    for u in var.bedrock_upstreams : u.region if u.role_arn == null
  ]) : [var.region]
  upstream_role_arns = distinct([for u in var.bedrock_upstreams : u.role_arn if u.role_arn != null])

  # Which Regions may call a geography's profile, by the gateway's own rule (`fits` in
  # src/bedrock/failover.rs): `us.` only in us-*, `eu.` only in eu-*, and so on; `global.` anywhere.
  geography_regions = {
    global = "^"
    us     = "^us-"
    eu     = "^eu-"
    apac   = "^ap-"
    jp     = "^ap-northeast-[13]$"
    au     = "^ap-southeast-[24]$"
  }
  # Per model, the (Region, geography) pairs a request may be sent to: the configured profile, then
  # the fallback geographies (CHATRIX_PROFILE_FALLBACK) the model has, in each Region; those the
  # Region cannot call are left out unless that leaves none, as the gateway does (`pairs`).
  model_pairs = {
    for id in var.bedrock_models : id => flatten([
      for region in local.own_regions : [
        for geo in distinct(concat(
          local.profile_prefix[id] == null ? [] : [local.profile_prefix[id]],
          [for g in var.inference_profile_fallback : g if contains(local.model_profiles[id], g)],
        )) : { region = region, geo = geo, fits = can(regex(local.geography_regions[geo], region)) }
      ]
    ])
  }
  upstream_profile_arns = flatten([
    for id, pairs in local.model_pairs : [
      for p in pairs :
      "arn:${local.partition}:bedrock:${p.region}:${local.account_id}:inference-profile/${p.geo}.${id}"
      if p.fits || !anytrue([for q in pairs : q.fits])
    ]
  ])
}

data "aws_iam_policy_document" "upstreams" {
  count = length(local.upstream_role_arns) > 0 ? 1 : 0

  # The provider (aws-config's AssumeRoleProvider) calls AssumeRole with session name `chatrix`
  # and refreshes the credentials itself. Each role's trust policy must name the function's role
  # (docs/deployment.md, "Upstreams in other accounts").
  statement {
    sid       = "AssumeUpstreamRoles"
    actions   = ["sts:AssumeRole"]
    resources = local.upstream_role_arns
  }
}

resource "aws_iam_role_policy" "upstreams" {
  count = length(local.upstream_role_arns) > 0 ? 1 : 0

  name   = "chatrix-upstreams"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.upstreams[0].json
}
