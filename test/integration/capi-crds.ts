import type { KubeObject } from '../../shim-operator/src/kube/kube-api.js';
import type { ControlPlane } from './control-plane.js';

const CRDS = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', kind: 'CustomResourceDefinition' };

/**
 * Stand-ins for Cluster API's Cluster and Machine CRDs (schema-less, status subresource): enough for
 * the shim's controllers, which only read clusterName, failureDomain, bootstrap.dataSecretName,
 * infrastructureRef and paused. The real CAPI CRDs and controllers are not built here.
 */
export async function installCapiStandIns(plane: ControlPlane): Promise<void> {
  for (const [kind, plural] of [
    ['Cluster', 'clusters'],
    ['Machine', 'machines'],
  ] as const) {
    await plane.api.create(CRDS, undefined, {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${plural}.cluster.x-k8s.io` },
      spec: {
        group: 'cluster.x-k8s.io',
        scope: 'Namespaced',
        names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
        versions: [
          {
            name: 'v1beta1',
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } },
          },
        ],
      },
    } as KubeObject);
    const until = Date.now() + 30_000;
    while (!(await plane.api.request('GET', `/apis/cluster.x-k8s.io/v1beta1/${plural}`).then(() => true, () => false))) {
      if (Date.now() > until) throw new Error(`${plural}.cluster.x-k8s.io not served within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
