import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadShimConfig } from '../../../shim-operator/src/config/settings.js';
import { BESKAR7_CLUSTERS } from '../../../shim-operator/src/controllers/beskar7-cluster-controller.js';
import { BESKAR7_MACHINES, CAPI_CLUSTERS, CAPI_MACHINES } from '../../../shim-operator/src/controllers/beskar7-machine-controller.js';
import { PHYSICAL_HOSTS } from '../../../shim-operator/src/controllers/physical-host-controller.js';
import { LEASES } from '../../../shim-operator/src/kube/lease-store.js';
import {
  COMPONENTS_PATH,
  COMPONENT_VARIABLES,
  CRD_DIR,
  PROVIDER_LABEL_KEY,
  PROVIDER_LABEL_VALUE,
  componentSources,
  readCommittedComponents,
  renderComponents,
  renderComponentsFrom,
  substitutionProblems,
  variablesIn,
} from '../../../shim-operator/scripts/generate-components.js';

// The clusterctl provider files of the shim: the generated infrastructure-components.yaml (fresh,
// labelled, only the documented variables, surviving clusterctl's substitution), its RBAC against
// the API calls the controllers make, its Deployment against the shim's environment contract, and
// metadata.yaml, clusterctl.yaml and the Dockerfile's shim target it names.

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
};
interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
  nonResourceURLs?: string[];
}

const repoRoot = join(import.meta.dirname, '../../..');
const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');
const committed = readCommittedComponents() ?? '';
const objects = parseAllDocuments(committed).map((doc) => doc.toJS() as Obj);
const objectOf = (kind: string, name: string): Obj => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${COMPONENTS_PATH}`);
  return found;
};
const pkg = JSON.parse(read('package.json')) as { version: string };

const NAMESPACE = 'beskar7-system';
const SERVICE_ACCOUNT = 'beskar7-shim';

// A token as `beskar7 token create` makes them (daemon/core/tokens.ts), and a daemon URL.
const VALUES: Record<string, string> = {
  BESKAR7_DAEMON_URL: 'https://provisioner.example.internal:8082',
  BESKAR7_DAEMON_TOKEN: 'b7_0123456789abcdef_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde',
};

/**
 * clusterctl's variable substitution (drone/envsubst) for what the components file may hold:
 * ${NAME} and ${NAME:=default}, plus the unescaping some versions of it do ("$$" → "$", a
 * backslash before "/" or another backslash dropped), switched by `unescape`.
 */
function clusterctlSubstitute(text: string, values: Record<string, string>, unescape: boolean): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const next = text[i + 1];
    if (unescape && c === '$' && next === '$') {
      out += '$';
      i++;
    } else if (unescape && c === '\\' && (next === '/' || next === '\\')) {
      out += next;
      i++;
    } else if (c === '$' && next === '{') {
      const end = text.indexOf('}', i);
      const inner = text.slice(i + 2, end);
      const at = inner.indexOf(':=');
      const name = at === -1 ? inner : inner.slice(0, at);
      const value = values[name] || (at === -1 ? undefined : inner.slice(at + 2));
      if (value === undefined) throw new Error(`clusterctl would refuse: ${name} is not set`);
      out += value;
      i = end;
    } else {
      out += c;
    }
  }
  return out;
}

/** Every string in a value, transformed. */
function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === 'string') return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f)]));
  return value;
}

describe('infrastructure-components.yaml', () => {
  it('is committed and not stale (npm run components:generate)', () => {
    expect(readCommittedComponents(), `${COMPONENTS_PATH} is missing`).toBeDefined();
    expect(committed === renderComponents(), `${COMPONENTS_PATH} is stale: run node --import tsx shim-operator/scripts/generate-components.ts`).toBe(true);
  });

  it('parses cleanly, one object per document, each labelled for clusterctl', () => {
    for (const doc of parseAllDocuments(committed)) {
      expect(doc.errors).toEqual([]);
      expect(doc.warnings).toEqual([]);
    }
    expect(objects.length).toBeGreaterThan(0);
    for (const object of objects) {
      expect(object.metadata.labels?.[PROVIDER_LABEL_KEY], `${object.kind} ${object.metadata.name}`).toBe(PROVIDER_LABEL_VALUE);
    }
    expect(PROVIDER_LABEL_KEY).toBe('cluster.x-k8s.io/provider');
    expect(PROVIDER_LABEL_VALUE).toBe('infrastructure-beskar7');
  });

  it('holds every generated CRD unchanged, with the CAPI contract label', () => {
    const crdFiles = componentSources().filter((s) => s.path.startsWith(CRD_DIR));
    expect(crdFiles.length).toBe(5);
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
    expect(crds.map((c) => c.metadata.name).sort()).toEqual(
      ['beskar7clusters', 'beskar7clustertemplates', 'beskar7machines', 'beskar7machinetemplates', 'physicalhosts'].map((p) => `${p}.infrastructure.cluster.x-k8s.io`),
    );
    for (const file of crdFiles) {
      const source = parse(read(file.path)) as Obj;
      expect(objectOf('CustomResourceDefinition', source.metadata.name), file.path).toEqual(source);
      expect(source.metadata.labels?.['cluster.x-k8s.io/v1beta1']).toBe('v1beta1');
    }
  });

  it('puts every namespaced object into beskar7-system, in apply order', () => {
    const namespaced = objects.filter((o) => !['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind));
    expect(new Set(namespaced.map((o) => o.metadata.namespace))).toEqual(new Set([NAMESPACE]));
    expect(objects[0]).toMatchObject({ kind: 'Namespace', metadata: { name: NAMESPACE } });
    expect(objects.at(-1)?.kind).toBe('Deployment');
    expect(objects.findIndex((o) => o.kind === 'Deployment')).toBeGreaterThan(objects.findLastIndex((o) => o.kind === 'RoleBinding'));
  });

  it('has only the documented variables: the daemon URL and token required, the rest with their defaults', () => {
    const found = variablesIn(committed);
    expect(new Set(found.map((v) => v.name))).toEqual(new Set(COMPONENT_VARIABLES.map((v) => v.name)));
    // The test's own copy of the contract: a change to the list is a change to the documentation.
    expect(Object.fromEntries(COMPONENT_VARIABLES.map((v) => [v.name, v.default ?? null]))).toEqual({
      BESKAR7_DAEMON_URL: null,
      BESKAR7_DAEMON_TOKEN: null,
      BESKAR7_DAEMON_NAME: 'default',
      BESKAR7_SHIM_IMAGE: `ghcr.io/beskar7/beskar7-shim:v${pkg.version}`,
      BESKAR7_SHIM_LOG_LEVEL: 'info',
    });
    for (const v of found) expect(v.default, v.raw).toBe(COMPONENT_VARIABLES.find((k) => k.name === v.name)?.default);
    expect(substitutionProblems(committed)).toEqual([]);
    // Documented where users look.
    const readme = read('shim-operator/clusterctl/README.md');
    for (const v of COMPONENT_VARIABLES) expect(readme, v.name).toContain(`\`${v.name}\``);
  });

  it('survives clusterctl\'s substitution: only the variables change (and "\\/" in patterns, to the same regex)', () => {
    const raw = parseAllDocuments(committed).map((d) => d.toJS() as unknown);
    const normalise = (s: string) => s.replaceAll('\\/', '/');
    const expected = raw.map((o) => mapStrings(o, (s) => normalise(clusterctlSubstitute(s, VALUES, false))));
    for (const unescape of [false, true]) {
      const processed = clusterctlSubstitute(committed, VALUES, unescape);
      expect(processed).not.toContain('${');
      const docs = parseAllDocuments(processed);
      for (const doc of docs) expect(doc.errors).toEqual([]);
      expect(docs.map((d) => mapStrings(d.toJS(), normalise))).toEqual(expected);
    }
    // Required variables left unset make clusterctl refuse; the optional ones fall back to defaults.
    expect(() => clusterctlSubstitute(committed, {}, true)).toThrow(/BESKAR7_DAEMON_(URL|TOKEN) is not set/);
    const processed = parseAllDocuments(clusterctlSubstitute(committed, VALUES, true)).map((d) => d.toJS() as Obj);
    const secret = processed.find((o) => o.kind === 'Secret') as Obj & { stringData: Record<string, string> };
    expect(secret.stringData.token).toBe(VALUES.BESKAR7_DAEMON_TOKEN);
  });

  it('refuses sources that clusterctl would mangle or split', () => {
    const sources = componentSources();
    const render = (override: (path: string, text: string) => string) => () => renderComponentsFrom(sources, (path) => override(path, read(path)));
    const inManager = (f: (text: string) => string) => render((path, text) => (path.endsWith('manager.yaml') ? f(text) : text));
    expect(render((_path, text) => text)()).toBe(committed);
    expect(inManager((t) => t.replace('# The daemon\'s API token.', '# The ${BESKAR7_DAEMON_TOKEN} token.'))).not.toThrow();
    expect(inManager((t) => t.replace('# The daemon\'s API token.', '# The ${TOKEN} token.'))).toThrow(/not a documented variable/);
    expect(inManager((t) => t.replace('${BESKAR7_SHIM_LOG_LEVEL:=info}', '${BESKAR7_SHIM_LOG_LEVEL:=debug}'))).toThrow(/default/);
    expect(inManager((t) => t.replace('  name: beskar7-shim\n  namespace: beskar7-system\n  labels:\n    cluster.x-k8s.io/provider: infrastructure-beskar7\n---', '  name: beskar7-shim\n  namespace: elsewhere\n---'))).toThrow(/several namespaces/);
    expect(inManager((t) => `${t}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: beskar7-system\n`)).toThrow(/no place/);
    expect(inManager((t) => `${t}---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: beskar7-shim\n  namespace: beskar7-system\n`)).toThrow(/defined twice/);
  });
});

describe('RBAC', () => {
  const clusterRole = objectOf('ClusterRole', 'beskar7-shim-manager') as Obj & { rules: Rule[] };
  const role = objectOf('Role', 'beskar7-shim-leader-election') as Obj & { rules: Rule[] };
  const INFRA = PHYSICAL_HOSTS.group;

  // What the controllers call today, read off the code (manager.ts, controllers/, kube/): an
  // informer (list + watch) per reconciled kind and per CAPI kind; finalizers, providerID and a
  // derived endpoint are merge patches; status is a PUT on /status (update); the Beskar7Cluster
  // controller gets its owning Cluster; Secrets by name; EventRecorder creates and patches core/v1
  // events; KubeLeaseStore gets, creates and replaces (update) its Lease.
  const REQUIRED: [group: string, resource: string, verbs: string[]][] = [
    [INFRA, PHYSICAL_HOSTS.plural, ['list', 'watch', 'patch']],
    [INFRA, `${PHYSICAL_HOSTS.plural}/status`, ['update']],
    [INFRA, BESKAR7_MACHINES.plural, ['list', 'watch', 'patch']],
    [INFRA, `${BESKAR7_MACHINES.plural}/status`, ['update']],
    [INFRA, BESKAR7_CLUSTERS.plural, ['list', 'watch', 'patch']],
    [INFRA, `${BESKAR7_CLUSTERS.plural}/status`, ['update']],
    [CAPI_MACHINES.group, CAPI_MACHINES.plural, ['list', 'watch']],
    [CAPI_CLUSTERS.group, CAPI_CLUSTERS.plural, ['get', 'list', 'watch']],
    ['', 'secrets', ['get']],
    ['', 'events', ['create', 'patch']],
  ];
  const REQUIRED_IN_NAMESPACE: [string, string, string[]][] = [[LEASES.group, LEASES.plural, ['get', 'create', 'update']]];
  // The ceiling is the floor: nothing beyond what the code calls.
  const ALLOWED: [string, string, string[]][] = REQUIRED;

  const grants = (rules: Rule[]) =>
    rules.flatMap((rule) => (rule.apiGroups ?? []).flatMap((group) => (rule.resources ?? []).flatMap((resource) => rule.verbs.map((verb) => ({ group, resource, verb, names: rule.resourceNames })))));
  const has = (rules: Rule[], group: string, resource: string, verb: string) => grants(rules).some((g) => g.group === group && g.resource === resource && g.verb === verb);

  it('names no wildcard and no non-resource URL', () => {
    for (const rule of [...clusterRole.rules, ...role.rules]) {
      for (const value of [...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs]) expect(value, JSON.stringify(rule)).not.toContain('*');
      expect(rule.nonResourceURLs).toBeUndefined();
      expect(rule.apiGroups?.length).toBeGreaterThan(0);
      expect(rule.resources?.length).toBeGreaterThan(0);
    }
    expect(Object.keys(clusterRole)).not.toContain('aggregationRule');
  });

  it('grants every call the controllers make', () => {
    for (const [group, resource, verbs] of REQUIRED) for (const verb of verbs) expect(has(clusterRole.rules, group, resource, verb), `${verb} ${group}/${resource}`).toBe(true);
    for (const [group, resource, verbs] of REQUIRED_IN_NAMESPACE) for (const verb of verbs) expect(has(role.rules, group, resource, verb), `${verb} ${group}/${resource} in ${NAMESPACE}`).toBe(true);
  });

  it('grants nothing beyond what a controller of these kinds may do', () => {
    for (const g of grants(clusterRole.rules)) {
      const allowed = ALLOWED.find(([group, resource]) => group === g.group && resource === g.resource);
      expect(allowed?.[2], `${g.verb} ${g.group}/${g.resource}`).toContain(g.verb);
      expect(g.names, 'the ClusterRole does not name objects').toBeUndefined();
    }
    // Secrets: by name only; never list or watch, which would expose every secret of the cluster.
    expect(grants(clusterRole.rules).filter((g) => g.resource === 'secrets').map((g) => g.verb)).toEqual(['get']);
    expect(grants(role.rules).every((g) => g.group === LEASES.group && g.resource === LEASES.plural)).toBe(true);
  });

  it('limits the Lease rights to the shim\'s own Lease, in its own namespace', () => {
    expect(role.metadata.namespace).toBe(NAMESPACE);
    const env = deploymentEnv();
    const leaseName = env.BESKAR7_SHIM_LEASE_NAME;
    expect(leaseName).toBe('beskar7-shim-leader');
    for (const g of grants(role.rules)) {
      // The apiserver cannot limit create by name; get and update are.
      if (g.verb === 'create') expect(g.names).toBeUndefined();
      else expect(g.names).toEqual([leaseName]);
    }
  });

  it('binds both roles to the shim\'s ServiceAccount, which the Deployment runs as', () => {
    const subject = [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: NAMESPACE }];
    expect(objectOf('ClusterRoleBinding', 'beskar7-shim-manager')).toMatchObject({
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole.metadata.name },
      subjects: subject,
    });
    expect(objectOf('RoleBinding', 'beskar7-shim-leader-election')).toMatchObject({
      metadata: { namespace: NAMESPACE },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name },
      subjects: subject,
    });
    expect(objectOf('ServiceAccount', SERVICE_ACCOUNT).metadata.namespace).toBe(NAMESPACE);
    expect(podSpec().serviceAccountName).toBe(SERVICE_ACCOUNT);
  });
});

interface Container {
  name: string;
  image: string;
  env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: unknown } }[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: { httpGet: { path: string; port: string | number } };
  readinessProbe: { httpGet: { path: string; port: string | number } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: Record<string, unknown> & { capabilities: { drop: string[]; add?: string[] } };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: { name: string; secret?: { secretName: string; defaultMode?: number; items?: { key: string; path: string }[] } }[];
}
const deployment = () => objectOf('Deployment', 'beskar7-shim') as Obj & { spec: { replicas: number; template: { spec: PodSpec } } };
const podSpec = () => deployment().spec.template.spec;
const container = () => {
  const [only, ...more] = podSpec().containers;
  if (!only || more.length > 0) throw new Error('the Deployment should have exactly one container');
  return only;
};
/** The container's environment with clusterctl's values in and the downward API filled as the kubelet would. */
function deploymentEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container().env) {
    if (e.value !== undefined) env[e.name] = clusterctlSubstitute(e.value, VALUES, true);
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = NAMESPACE;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = 'beskar7-shim-5d8f7c9b4-x2x7q';
    else throw new Error(`env ${e.name}: unexpected source ${JSON.stringify(e.valueFrom)}`);
  }
  return env;
}

describe('the Deployment', () => {
  it('runs two replicas of the shim image, and is accepted by the shim\'s environment contract', () => {
    expect(deployment().spec.replicas).toBe(2);
    expect(container().image).toBe(`\${BESKAR7_SHIM_IMAGE:=ghcr.io/beskar7/beskar7-shim:v${pkg.version}}`);
    const env = deploymentEnv();
    // The token comes as a file from the Secret, never as an environment value.
    expect(env.BESKAR7_DAEMON_TOKEN).toBeUndefined();
    expect(container().env.some((e) => e.valueFrom?.secretKeyRef !== undefined)).toBe(false);
    const tokenFile = env.BESKAR7_DAEMON_TOKEN_FILE ?? '';
    const mount = container().volumeMounts.find((m) => m.mountPath === dirname(tokenFile));
    expect(mount?.readOnly).toBe(true);
    const volume = podSpec().volumes.find((v) => v.name === mount?.name);
    expect(volume?.secret).toMatchObject({ secretName: 'beskar7-daemon-token', items: [{ key: 'token', path: tokenFile.split('/').at(-1) }] });
    expect(volume?.secret?.defaultMode).toBe(0o440);
    expect(objectOf('Secret', 'beskar7-daemon-token')).toMatchObject({ metadata: { namespace: NAMESPACE }, stringData: { token: '${BESKAR7_DAEMON_TOKEN}' } });

    // loadShimConfig as main.ts calls it, with the mounted token in a temporary file.
    const dir = mkdtempSync(join(tmpdir(), 'b7-components-'));
    try {
      writeFileSync(join(dir, 'token'), `${VALUES.BESKAR7_DAEMON_TOKEN}\n`);
      const config = loadShimConfig({ ...env, BESKAR7_DAEMON_TOKEN_FILE: join(dir, 'token') });
      expect(config).toMatchObject({
        daemons: [{ name: 'default', url: VALUES.BESKAR7_DAEMON_URL, token: VALUES.BESKAR7_DAEMON_TOKEN }],
        defaultDaemon: 'default',
        workers: 8,
        healthPort: 8081,
        leaseNamespace: NAMESPACE,
        leaseName: 'beskar7-shim-leader',
        identity: 'beskar7-shim-5d8f7c9b4-x2x7q',
        logLevel: 'info',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('probes /healthz and /readyz on the health port', () => {
    const port = container().ports.find((p) => p.name === 'healthz');
    expect(port?.containerPort).toBe(Number(deploymentEnv().BESKAR7_SHIM_HEALTH_PORT));
    expect(container().livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'healthz' });
    expect(container().readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'healthz' });
  });

  it('runs non-root, read-only, without capabilities, under RuntimeDefault seccomp, with resource bounds', () => {
    expect(podSpec().securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container().securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    expect(container().securityContext.capabilities.add).toBeUndefined();
    expect(Object.keys(container().resources.requests).sort()).toEqual(['cpu', 'memory']);
    expect(Object.keys(container().resources.limits).sort()).toEqual(['cpu', 'memory']);
    expect(objectOf('Namespace', NAMESPACE).metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });
});

describe('clusterctl metadata and local repository', () => {
  const [major, minor] = pkg.version.split('.').map(Number);

  it('metadata.yaml maps the current release series to contract v1beta1', () => {
    const metadata = parse(read('shim-operator/metadata.yaml')) as { apiVersion: string; kind: string; releaseSeries: { major: number; minor: number; contract: string }[] };
    expect(metadata.apiVersion).toBe('clusterctl.cluster.x-k8s.io/v1alpha3');
    expect(metadata.kind).toBe('Metadata');
    expect(metadata.releaseSeries).toContainEqual({ major, minor, contract: 'v1beta1' });
  });

  it('clusterctl.yaml names the provider with a local-repository URL clusterctl accepts', () => {
    const config = parse(read('shim-operator/clusterctl/clusterctl.yaml')) as { providers: { name: string; type: string; url: string }[] } & Record<string, unknown>;
    expect(config.providers).toHaveLength(1);
    const [provider] = config.providers;
    expect(provider).toMatchObject({ name: 'beskar7', type: 'InfrastructureProvider' });
    // {basepath}/{provider-label}/{version}/{components file}, absolute, the version a semver.
    expect(provider?.url).toMatch(/^file:\/\/\/.+\/infrastructure-beskar7\/v\d+\.\d+\.\d+\/infrastructure-components\.yaml$/);
    expect(provider?.url).toContain(`/infrastructure-beskar7/v${pkg.version}/`);
    expect(config.BESKAR7_DAEMON_TOKEN, 'the token belongs in the environment, not a file').toBeUndefined();
    const readme = read('shim-operator/clusterctl/README.md');
    expect(readme).toContain('clusterctl init --infrastructure beskar7 --config clusterctl.yaml');
    expect(readme).toContain(`infrastructure-beskar7/v${pkg.version}/`);
  });
});

describe('the Dockerfile\'s shim target', () => {
  const dockerfile = read('Dockerfile');
  const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)\s+AS\s+(\S+)$/gm)].map((m) => ({ from: m[1], name: m[2], at: m.index }));

  it('builds the shim as its own stage, and keeps the daemon the default (last) target', () => {
    expect(stages.map((s) => s.name)).toContain('shim');
    expect(stages.at(-1)?.name).toBe('daemon');
    expect(stages.find((s) => s.name === 'shim')?.from).toBe(stages.find((s) => s.name === 'daemon')?.from);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-/m);
  });

  it('runs dist/shim-operator/src/main.js as a numeric non-root user', () => {
    const shim = stages.find((s) => s.name === 'shim');
    const next = stages.find((s) => (s.at ?? 0) > (shim?.at ?? 0));
    const body = dockerfile.slice(shim?.at, next?.at);
    expect(body).toContain('ENTRYPOINT ["node", "dist/shim-operator/src/main.js"]');
    // tsc (tsconfig.build.json: rootDir ".", outDir "dist") puts shim-operator/src/main.ts there.
    expect(read('shim-operator/src/main.ts')).toContain('loadShimConfig');
    const user = /^USER\s+(\d+):(\d+)$/m.exec(body);
    expect(user?.[1]).toBe(String(podSpec().securityContext.runAsUser));
    expect(Number(user?.[1])).toBeGreaterThan(0);
    expect(body).toContain('COPY --from=build /src/package.json ./package.json');
  });
});
