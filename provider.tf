# Providers for the Chatrix deployment: one Lambda function behind CloudFront, in `var.region`.
#
# Works with OpenTofu and Terraform alike: nothing here is specific to either, and both resolve
# `hashicorp/aws` and `hashicorp/random` from their own registries. No backend is configured, so
# state is local; see docs/deployment.md for putting it somewhere shared and encrypted (the state
# holds the CloudFront origin secret).

terraform {
  # 1.6 is OpenTofu's first release; Terraform 1.6 has every language feature used here.
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.28 added `invoked_via_function_url` on `aws_lambda_permission`: since October 2025 a
      # function URL with auth type NONE needs `lambda:InvokeFunction` granted through the URL as
      # well as `lambda:InvokeFunctionUrl`, or every request is refused with 403.
      version = "~> 6.28"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

# CloudFront only accepts ACM certificates issued in us-east-1.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"

  default_tags {
    tags = local.tags
  }
}

locals {
  tags = merge(var.tags, {
    Application = "chatrix"
    Name        = var.name
  })
}
