/** Every input, output and state name the action uses, so none is a scattered literal. */

export enum Inputs {
  Config = 'config',
  Target = 'target',
  Machine = 'machine',
  Distro = 'distro',
  BitbakeArgs = 'bitbake-args',
  LocalConf = 'local-conf',
  ContainerImage = 'container-image',
  ContainerEngine = 'container-engine',
  WorkspaceDir = 'workspace-dir',
  Cache = 'cache',
  CacheDir = 'cache-dir',
  CacheKeyPrefix = 'cache-key-prefix',
  Save = 'save',
  SaveOnFailure = 'save-on-failure',
  CacheSizeLimit = 'cache-size-limit',
  SstateMaxAgeDays = 'sstate-max-age-days',
  WorkspaceMaxAgeDays = 'workspace-max-age-days',
  StopAfter = 'stop-after',
  CacheTimeout = 'cache-timeout',
  GithubToken = 'github-token',
  Summary = 'summary',
  RmWork = 'rm-work',
  RmWorkExclude = 'rm-work-exclude',
  FreeDiskSpace = 'free-disk-space',
  RemoteCache = 'remote-cache',
  RemoteEndpoint = 'remote-endpoint',
  RemoteRegion = 'remote-region',
  RemotePathStyle = 'remote-path-style',
  Hashserve = 'hashserve',
  UploadArtifacts = 'upload-artifacts',
  CheckOnly = 'check-only',
  Buildtools = 'buildtools',
  BuildtoolsSha256 = 'buildtools-sha256',
}

/**
 * Environment variables for the action's own end-to-end tests: the places on a hosted runner the
 * action changes, so a test never touches the machine's own /mnt or /usr.
 */
export enum TestEnv {
  /** The hosted runner's second disk, instead of /mnt (a test mounts its own). */
  ExtraDisk = 'SMIDR_TEST_EXTRA_DISK',
  /** The root under which free-disk-space finds the preinstalled tools, instead of / (a fake runner root). */
  RunnerRoot = 'SMIDR_TEST_RUNNER_ROOT',
}

export enum Outputs {
  BuildDir = 'build-dir',
  DeployDir = 'deploy-dir',
  Images = 'images',
  Layers = 'layers',
  Result = 'result',
  TasksRun = 'tasks-run',
  TasksReused = 'tasks-reused',
  SstateMatch = 'sstate-match',
  DownloadsCacheHit = 'downloads-cache-hit',
  DownloadsCacheKey = 'downloads-cache-key',
  SstateCacheHit = 'sstate-cache-hit',
  SstateCacheKey = 'sstate-cache-key',
  HashservCacheHit = 'hashserv-cache-hit',
  Artifacts = 'artifacts',
}

export enum State {
  /** JSON of the StepState the main step leaves for the post step. */
  Step = 'step',
}

export const CACHE_MODES = ['auto', 'actions', 'local', 'remote', 'off'] as const;
export type CacheModeInput = (typeof CACHE_MODES)[number];

/** Events whose builds restore but never save unless the workflow says so: their code is untrusted. */
export const UNTRUSTED_EVENTS = ['pull_request', 'pull_request_target'];

/** rm-work and free-disk-space: auto decides by the runner (and, for free-disk-space, the free space). */
export const AUTO_SWITCH = ['auto', 'true', 'false'] as const;
export type AutoSwitch = (typeof AUTO_SWITCH)[number];

export const CONTAINER_ENGINES = ['docker', 'podman', 'none'] as const;
export type ContainerEngine = (typeof CONTAINER_ENGINES)[number];

export const DEFAULT_CONFIG_FILE = 'smidr.yaml';
export const DEFAULT_CONTAINER_IMAGE = 'crops/poky:ubuntu-22.04';
