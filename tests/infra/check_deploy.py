#!/usr/bin/env python3
"""Offline checks of the deployment files that the generic linters cannot make (issue 16).

Reads the *.tf files with hcl2 (bc-python-hcl2, which checkov pins and installs into the infra
venv) and .github/workflows/release.yml with PyYAML (also a checkov dependency), and fails on:

- a CloudFront custom_error_response code outside the list CloudFront documents (CreateDistribution
  refuses any other: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/creating-custom-error-pages.html);
- a deploy role that could be planned without GitHub's immutable repository ids, or a release job
  whose environment is not the one `tofu output github_variables` names;
- a release that cannot roll back in one call (no `live` alias under the function URL, no smoke
  test of the origin secret, no rollback step);
- a ledger table that extra_environment could name while spend_ledger replaces it unseen;
- missing operations pieces (web ACL input, alarms, budget, outputs, example files) and checkov
  skips without a reason;
- an upstream pool whose settings do not reach the function, or a grant of sts:AssumeRole on
  anything but the listed upstream roles.

    check_deploy.py [--root DIR]       check the files under DIR (default: the repository)
    check_deploy.py --self-test        break copies of the files on purpose; each must be caught
    check_deploy.py --plan TF          plan variables*.tf + checks.tf alone with TF (tofu or
                                       terraform; built-in provider only, so offline) and check
                                       that each input rule refuses what it should

Never touches the network. Exit status 1 on any finding.
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import hcl2
import yaml

# CloudFront's custom error response codes (Developer Guide, "Create a custom error page for
# specific HTTP status codes"; cfn-lint E3030 enforces the same list).
CLOUDFRONT_ERROR_CODES = {400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504}
WORKFLOW = ".github/workflows/release.yml"


class Config:
    """Every top-level block of the *.tf files under one root, merged across files."""

    def __init__(self, root):
        self.root = root
        self.resources, self.variables, self.outputs, self.locals = {}, {}, {}, {}
        for path in sorted(glob.glob(os.path.join(root, "*.tf"))):
            with open(path) as f:
                doc = hcl2.load(f)
            for block in doc.get("resource", []):
                for rtype, named in block.items():
                    for name, body in named.items():
                        self.resources[f"{rtype}.{name}"] = body
            for block in doc.get("data", []):
                for dtype, named in block.items():
                    for name, body in named.items():
                        self.resources[f"data.{dtype}.{name}"] = body
            for block in doc.get("variable", []):
                self.variables.update(block)
            for block in doc.get("output", []):
                self.outputs.update(block)
            for block in doc.get("locals", []):
                self.locals.update({k: v for k, v in block.items() if not k.startswith("__")})

    def of_type(self, rtype):
        return {k: v for k, v in self.resources.items() if k.startswith(rtype + ".")}

    def text(self, name):
        with open(os.path.join(self.root, name)) as f:
            return f.read()


def first(value):
    """hcl2 wraps every attribute value in a one-element list."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def resolve_list(cfg, expr):
    """A literal list, or `${local.NAME}` naming one; None when it cannot be known offline."""
    expr = first(expr)
    if isinstance(expr, list):
        return expr
    m = re.fullmatch(r"\$\{local\.(\w+)\}", str(expr))
    if m and m.group(1) in cfg.locals:
        value = first(cfg.locals[m.group(1)])
        return value if isinstance(value, list) else None
    return None


def check_cloudfront_error_codes(cfg):
    findings = []
    for name, body in cfg.of_type("aws_cloudfront_distribution").items():
        codes = [first(b.get("error_code")) for b in body.get("custom_error_response", [])]
        for dyn in body.get("dynamic", []):
            block = dyn.get("custom_error_response")
            if block is None:
                continue
            values = resolve_list(cfg, block.get("for_each"))
            if values is None:
                findings.append(f"{name}: dynamic custom_error_response iterates over something "
                                "this check cannot read offline; use a literal list or a local")
                continue
            codes.extend(values)
        for code in codes:
            if not isinstance(code, int) or code not in CLOUDFRONT_ERROR_CODES:
                findings.append(f"{name}: custom_error_response code {code!r} is not one CloudFront "
                                f"accepts ({sorted(CLOUDFRONT_ERROR_CODES)}); CreateDistribution would fail")
    return findings


def preconditions(cfg):
    for body in cfg.of_type("terraform_data").values():
        for lifecycle in body.get("lifecycle", []):
            for pre in lifecycle.get("precondition", []):
                yield str(first(pre.get("condition")))


def workflow(cfg):
    with open(os.path.join(cfg.root, WORKFLOW)) as f:
        return yaml.safe_load(f)


def check_oidc(cfg):
    findings = []
    if not any(re.search(r"github_repository_ids\s*!=\s*(null|None)", c) for c in preconditions(cfg)):
        findings.append("no precondition refuses github_repository without github_repository_ids "
                        "(checks.tf): a new repository's first release would be denied by STS")
    role = cfg.resources.get("aws_iam_role.deploy", {})
    policy = str(first(role.get("assume_role_policy", "")))
    for key in (":sub", ":repository_id"):
        if key not in policy:
            findings.append(f"aws_iam_role.deploy: the trust policy does not condition on {key!r}")
    gh_vars = str(first(cfg.outputs.get("github_variables", {}).get("value", "")))
    if not re.search(r"DEPLOY_ENVIRONMENT'?\s*:\s*'\$\{var\.github_environment\}", gh_vars):
        findings.append("output github_variables lacks DEPLOY_ENVIRONMENT = var.github_environment")
    wf = workflow(cfg)
    for job_name, job in wf["jobs"].items():
        env = job.get("environment")
        if env is None:
            continue
        name = env.get("name") if isinstance(env, dict) else env
        if "${{" not in str(name):
            findings.append(f"{WORKFLOW}: job {job_name} hard-codes environment {name!r}; it must "
                            "come from vars.DEPLOY_ENVIRONMENT (var.github_environment)")
    if "vars.DEPLOY_ENVIRONMENT" not in cfg.text(WORKFLOW):
        findings.append(f"{WORKFLOW}: never reads vars.DEPLOY_ENVIRONMENT")
    return findings


def steps(wf):
    for job in wf["jobs"].values():
        yield from job.get("steps", [])


def check_release(cfg):
    findings = []
    alias = cfg.resources.get("aws_lambda_alias.live")
    if alias is None:
        return ["no aws_lambda_alias.live: a rollback would need a rebuild or a code update"]
    alias_name = first(alias.get("name"))
    wf = workflow(cfg)
    wf_alias = {job.get("env", {}).get("LAMBDA_ALIAS") for job in wf["jobs"].values()} - {None}
    if wf_alias != {alias_name}:
        findings.append(f"{WORKFLOW}: LAMBDA_ALIAS {sorted(wf_alias)} is not the alias {alias_name!r}")
    for res in ("aws_lambda_function_url.chatrix", "aws_lambda_permission.function_url",
                "aws_lambda_permission.function_url_invoke"):
        if "aws_lambda_alias.live" not in str(cfg.resources.get(res, {}).get("qualifier")):
            findings.append(f"{res}: not qualified with the live alias, so rolling the alias back "
                            "would not change what CloudFront serves")
    deploy_policy = str(cfg.resources.get("data.aws_iam_policy_document.deploy", ""))
    deploy_policy += cfg.text("github-actions.tf")
    for action in ("lambda:PublishVersion", "lambda:UpdateAlias", "lambda:GetAlias"):
        if f'"{action}"' not in deploy_policy:
            findings.append(f"the deploy role lacks {action}")
    runs = [(s.get("if", ""), s.get("run", "")) for s in steps(wf)]
    if not any("/v1/models" in run and "401" in run and "403" in run for _, run in runs):
        findings.append(f"{WORKFLOW}: no smoke test expecting 401 (and explaining 403) from "
                        "/v1/models without a key")
    if not any("max_tokens" in run and "SMOKE_API_KEY" in run for _, run in runs):
        findings.append(f"{WORKFLOW}: no optional one-token request with SMOKE_API_KEY")
    if not any("failure()" in str(cond) and "update-alias" in run for cond, run in runs):
        findings.append(f"{WORKFLOW}: no step that moves the alias back when a step failed")
    return findings


def check_ledger(cfg):
    """The ledger's CHATRIX_LEDGER_TABLE wins the merge in main.tf: a table also named in
    extra_environment must be refused, not silently replaced."""
    if not any("CHATRIX_LEDGER_TABLE" in c and "spend_ledger" in c for c in preconditions(cfg)):
        return ["no precondition refuses CHATRIX_LEDGER_TABLE in extra_environment with spend_ledger "
                "(main.tf would replace it without a word)"]
    return []


def check_operations(cfg):
    findings = []
    for var in ("web_acl_id", "alarm_sns_topic_arn", "bedrock_budget_usd", "budget_alert_emails",
                "reserved_concurrency"):
        if var not in cfg.variables:
            findings.append(f"variable {var} is missing")
    dist = cfg.resources.get("aws_cloudfront_distribution.chatrix", {})
    if first(dist.get("web_acl_id")) != "${var.web_acl_id}":
        findings.append("aws_cloudfront_distribution.chatrix: web_acl_id is not var.web_acl_id, "
                        "so an apply would detach a web ACL")
    alarms = {first(b.get("metric_name")): b for b in cfg.of_type("aws_cloudwatch_metric_alarm").values()}
    for metric in ("Errors", "Throttles", "ConcurrentExecutions", "5xxErrorRate"):
        if metric not in alarms:
            findings.append(f"no CloudWatch alarm on {metric}")
    if "5xxErrorRate" in alarms and first(alarms["5xxErrorRate"].get("provider")) != "${aws.us_east_1}":
        findings.append("the CloudFront 5xxErrorRate alarm is not in us-east-1 (provider "
                        "aws.us_east_1), where CloudFront publishes its metrics")
    for metric, body in alarms.items():
        actions = str(first(body.get("alarm_actions", "")))
        if not actions.startswith("${local.") and not actions.startswith("${var."):
            findings.append(f"alarm on {metric}: alarm_actions must follow the optional SNS input")
    budgets = cfg.of_type("aws_budgets_budget").values()
    if not any("Service" in str(b.get("cost_filter")) for b in budgets):
        findings.append("no aws_budgets_budget filtered by Service (Bedrock spend)")
    for out in ("cloudfront_distribution_id", "function_arn", "alias_arn"):
        if out not in cfg.outputs:
            findings.append(f"output {out} is missing")
    findings += check_upstreams(cfg)
    findings += check_examples(cfg)
    findings += check_skips(cfg)
    return findings


def check_upstreams(cfg):
    """The upstream pool (docs/failover.md): its settings reach the function, and the function's
    role may assume exactly the listed roles (no other statement grants sts:AssumeRole)."""
    findings = []
    for var in ("bedrock_upstreams", "inference_profile_fallback"):
        if var not in cfg.variables:
            findings.append(f"variable {var} is missing")
    if "local.upstreams_environment" not in str(cfg.locals.get("function_environment", "")):
        findings.append("function_environment does not merge local.upstreams_environment: "
                        "CHATRIX_UPSTREAMS would not reach the function")
    assumes = []
    for name, body in cfg.resources.items():
        if not name.startswith("data.aws_iam_policy_document."):
            continue
        statements = list(body.get("statement", []))
        statements += [d["statement"].get("content", [{}])[0] for d in body.get("dynamic", [])
                       if "statement" in d]
        for st in statements:
            if "sts:AssumeRole" in str(st.get("actions")):
                assumes.append((name, str(first(st.get("resources")))))
    expected = [("data.aws_iam_policy_document.upstreams", "${local.upstream_role_arns}")]
    if [a for a in assumes if a not in expected] or not assumes:
        findings.append(f"sts:AssumeRole must be granted once, on local.upstream_role_arns "
                        f"(the listed roles) only; found {assumes}")
    return findings


def check_examples(cfg):
    findings = []
    for name in ("backend.tf.example", "terraform.tfvars.example"):
        path = os.path.join(cfg.root, name)
        if not os.path.exists(path):
            findings.append(f"{name} is missing")
            continue
        with open(path) as f:
            try:
                doc = hcl2.load(f)
            except Exception as e:  # the parser raises several unrelated types
                findings.append(f"{name} does not parse as HCL: {e}")
                continue
        if name == "terraform.tfvars.example":
            for key in doc:
                if key not in cfg.variables:
                    findings.append(f"{name} sets {key}, which variables*.tf does not declare")
            if "github_repository_ids" not in doc:
                findings.append(f"{name} does not show github_repository_ids")
    return findings


def check_skips(cfg):
    findings = []
    for path in sorted(glob.glob(os.path.join(cfg.root, "*.tf"))):
        with open(path) as f:
            for n, line in enumerate(f, 1):
                m = re.search(r"#checkov:skip=([A-Z0-9_]+)(?::(.*))?", line)
                if m and len((m.group(2) or "").strip()) < 20:
                    findings.append(f"{os.path.basename(path)}:{n}: checkov skip {m.group(1)} "
                                    "without a reason")
    return findings


def run_checks(root):
    cfg = Config(root)
    return (check_cloudfront_error_codes(cfg) + check_oidc(cfg) + check_release(cfg)
            + check_operations(cfg) + check_ledger(cfg))


# --- self-test: each mutation must produce a finding containing its marker --------------------

MUTATIONS = [
    ("cloudfront.tf", "uncached_error_codes = [", "uncached_error_codes = [429, ", "code 429"),
    ("cloudfront.tf", "uncached_error_codes = [", "uncached_error_codes = [413, ", "code 413"),
    ("checks.tf", "var.github_repository_ids != null", "true", "github_repository_ids"),
    ("github-actions.tf", ':repository_id"', ':repo_id"', "':repository_id'"),
    (WORKFLOW, "name: ${{ needs.config.outputs.environment }}", "name: production",
     "hard-codes environment"),
    (WORKFLOW, "if: failure() && steps.deploy.outputs.moved == 'yes'", "if: always()",
     "moves the alias back"),
    ("main.tf", "  qualifier          = aws_lambda_alias.live.name\n", "",
     "aws_lambda_function_url.chatrix: not qualified"),
    ("monitoring.tf", "  provider = aws.us_east_1\n", "", "not in us-east-1"),
    ("cloudfront.tf", "web_acl_id = var.web_acl_id", "web_acl_id = null", "web_acl_id"),
    ("upstreams.tf", "resources = local.upstream_role_arns", 'resources = ["*"]', "sts:AssumeRole"),
    ("main.tf", "local.ledger_environment, local.upstreams_environment,", "local.ledger_environment,",
     "CHATRIX_UPSTREAMS"),
    ("checks.tf", '!(var.spend_ledger && contains(keys(var.extra_environment), "CHATRIX_LEDGER_TABLE"))',
     "true", "CHATRIX_LEDGER_TABLE in extra_environment"),
]


def copy_tree(root, dest):
    for path in glob.glob(os.path.join(root, "*.tf")) + glob.glob(os.path.join(root, "*.example")):
        shutil.copy(path, dest)
    os.makedirs(os.path.join(dest, os.path.dirname(WORKFLOW)))
    shutil.copy(os.path.join(root, WORKFLOW), os.path.join(dest, WORKFLOW))


def self_test(root):
    failures = []
    for name, old, new, marker in MUTATIONS:
        with tempfile.TemporaryDirectory() as tmp:
            copy_tree(root, tmp)
            path = os.path.join(tmp, name)
            with open(path) as f:
                text = f.read()
            if old not in text:
                failures.append(f"{name}: the text to break ({old!r}) is gone; update MUTATIONS")
                continue
            with open(path, "w") as f:
                f.write(text.replace(old, new, 1))
            findings = run_checks(tmp)
            if not any(marker in f for f in findings):
                failures.append(f"{name}: {old!r} -> {new!r} went unnoticed (findings: {findings})")
            else:
                print(f"  caught: {name}: {old.strip()!r} -> {new.strip()!r}")
    return failures


# --- plan: the input rules, exercised by the real tool ------------------------------------------

PLAN_CASES = [
    ("defaults", [], None),
    ("repository without ids", ["github_repository=acme/chatrix"], "github_repository_ids is required"),
    ("repository with ids", ["github_repository=acme/chatrix",
                             "github_repository_ids={owner=123456,repository=456789}"], None),
    ("budget without emails", ["bedrock_budget_usd=500"], "budget_alert_emails is empty"),
    ("budget with emails", ["bedrock_budget_usd=500", 'budget_alert_emails=["ops@example.com"]'], None),
    ("web ACL in the wrong scope", ["web_acl_id=arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/a/b"],
     "scope CLOUDFRONT"),
    ("domain without zone", ["domain_name=llm.example.com"], "route53_zone_id is empty"),
    ("alarm topic in another Region", ["region=eu-west-1",
                                       "alarm_sns_topic_arn=arn:aws:sns:us-east-1:123456789012:ops"],
     "must be a topic in var.region"),
    ("pool with a role", ['bedrock_upstreams=[{region="us-east-1"},{region="us-west-2",'
                          'role_arn="arn:aws:iam::123456789012:role/bedrock"}]',
                          'inference_profile_fallback=["us","global"]'], None),
    ("pool entry with a malformed role", ['bedrock_upstreams=[{region="us-east-1",role_arn="bedrock"}]'],
     "bedrock_upstreams: each entry"),
    ("pool entry listed twice", ['bedrock_upstreams=[{region="us-east-1"},{region="us-east-1"}]'],
     "each at most once"),
    ("unknown fallback geography", ['inference_profile_fallback=["mars"]'], "inference_profile_fallback:"),
    ("alarm topic in the function's Region", ["region=eu-west-1",
                                              "alarm_sns_topic_arn=arn:aws:sns:eu-west-1:123456789012:ops"], None),
    ("ledger table named in extra_environment", ['extra_environment={CHATRIX_LEDGER_TABLE="mine"}'],
     "extra_environment sets CHATRIX_LEDGER_TABLE"),
    ("own ledger table without spend_ledger", ["spend_ledger=false",
                                               'extra_environment={CHATRIX_LEDGER_TABLE="mine"}'], None),
]


def plan_inputs(root, tf):
    failures = []
    env = dict(os.environ, TF_CLI_CONFIG_FILE="/dev/null", TF_IN_AUTOMATION="1", NO_COLOR="1")
    with tempfile.TemporaryDirectory() as tmp:
        for path in glob.glob(os.path.join(root, "variables*.tf")) + [os.path.join(root, "checks.tf")]:
            shutil.copy(path, tmp)
        init = subprocess.run([tf, "init", "-input=false", "-no-color", "-backend=false"], cwd=tmp,
                              env=env, capture_output=True, text=True)
        if init.returncode != 0:
            return [f"{tf} init failed:\n{init.stdout}{init.stderr}"]
        for label, assigns, expect in PLAN_CASES:
            args = [tf, "plan", "-input=false", "-no-color", "-lock=false", "-refresh=false"]
            for a in assigns:
                args += ["-var", a]
            out = subprocess.run(args, cwd=tmp, env=env, capture_output=True, text=True)
            text = " ".join((out.stdout + out.stderr).split())
            if expect is None and out.returncode != 0:
                failures.append(f"plan '{label}' should pass but failed:\n{out.stdout}{out.stderr}")
            elif expect is not None and (out.returncode == 0 or expect not in text):
                failures.append(f"plan '{label}' should fail with '{expect}':\n{out.stdout}{out.stderr}")
            else:
                print(f"  {label}: {'refused' if expect else 'accepted'}")
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--plan", metavar="TF")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    if args.self_test:
        problems = run_checks(root) or self_test(root)
    elif args.plan:
        problems = plan_inputs(root, args.plan)
    else:
        problems = run_checks(root)
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    if not problems:
        print("ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
