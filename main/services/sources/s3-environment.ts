/**
 * S3 settings from the environment, as the AWS CLI and SDKs read them: AWS_ACCESS_KEY_ID with
 * AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), AWS_REGION (else AWS_DEFAULT_REGION), AWS_ENDPOINT_URL_S3 (else
 * AWS_ENDPOINT_URL). Each one set wins over its setting, as HF_ENDPOINT and HF_TOKEN do. Read when this module
 * loads, like them.
 */
export interface S3Environment {
  /** Both or neither: a key id without its secret is no credential. */
  accessKeyId: string | null;
  secretAccessKey: string | null;
  sessionToken: string | null;
  region: string | null;
  endpoint: string | null;
}

export const NO_S3_ENVIRONMENT: S3Environment = { accessKeyId: null, secretAccessKey: null, sessionToken: null, region: null, endpoint: null };

function read(env: NodeJS.ProcessEnv, ...names: string[]): string | null {
  for (const n of names) {
    const v = env[n]?.trim();
    if (v) return v;
  }
  return null;
}

export function s3EnvironmentOf(env: NodeJS.ProcessEnv): S3Environment {
  const accessKeyId = read(env, "AWS_ACCESS_KEY_ID");
  const secretAccessKey = read(env, "AWS_SECRET_ACCESS_KEY");
  const paired = accessKeyId !== null && secretAccessKey !== null;
  return {
    accessKeyId: paired ? accessKeyId : null,
    secretAccessKey: paired ? secretAccessKey : null,
    sessionToken: paired ? read(env, "AWS_SESSION_TOKEN") : null,
    region: read(env, "AWS_REGION", "AWS_DEFAULT_REGION"),
    endpoint: read(env, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
  };
}

const AT_START = s3EnvironmentOf(process.env);

/** The S3 environment as it was when the process started. */
export function environmentS3(): S3Environment {
  return AT_START;
}
