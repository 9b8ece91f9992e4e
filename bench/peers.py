"""The peers benchmarked beside Chatrix: their configuration."""

# LiteLLM in its most favourable set-up: no database, no callbacks, no retries.
LITELLM_CONFIG = """\
model_list:
  - model_name: claude-bench
    litellm_params:
      model: bedrock/converse/{model_id}
      aws_bedrock_runtime_endpoint: {endpoint}
      aws_access_key_id: AKIDBENCH
      aws_secret_access_key: bench-secret
      aws_region_name: us-east-1
litellm_settings:
  callbacks: []
  num_retries: 0
  request_timeout: 60
  telemetry: false
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
"""
