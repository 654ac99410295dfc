// Tests must never reach a real AWS endpoint or pick up a developer's credentials.
process.env.AWS_REGION ??= 'us-west-2';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
