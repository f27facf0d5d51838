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
}

export enum State {
  /** JSON of the BuildState the main step leaves for the post step. */
  Build = 'build',
}

export const CONTAINER_ENGINES = ['docker', 'podman', 'none'] as const;
export type ContainerEngine = (typeof CONTAINER_ENGINES)[number];

export const DEFAULT_CONFIG_FILE = 'smidr.yaml';
export const DEFAULT_CONTAINER_IMAGE = 'crops/poky:ubuntu-22.04';
