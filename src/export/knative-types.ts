// The part of Knative's serving.knative.dev/v1 Service that an export writes:
// a Kubernetes pod spec narrowed to what Knative's webhook accepts (its field
// masks, knative.dev/serving pkg/apis/serving/fieldmask.go), and to what
// appsd has to say. Plain data, serialized as it is.

export interface KnativeService {
  readonly apiVersion: 'serving.knative.dev/v1';
  readonly kind: 'Service';
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly template: {
      /** Autoscaling annotations are read on the revision template, not on the Service. */
      readonly metadata: { readonly annotations: Readonly<Record<string, string>> };
      readonly spec: RevisionSpec;
    };
  };
}

export interface RevisionSpec {
  readonly containerConcurrency?: number;
  readonly containers: readonly [Container];
  readonly volumes?: readonly Volume[];
}

export interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly workingDir?: string;
  readonly ports: readonly [{ readonly containerPort: number }];
  readonly env?: readonly EnvVar[];
  readonly envFrom?: ReadonlyArray<{ readonly secretRef: { readonly name: string } }>;
  readonly resources?: { readonly limits: { readonly memory?: string; readonly cpu?: string } };
  readonly volumeMounts?: readonly VolumeMount[];
  readonly readinessProbe?: Probe;
  readonly securityContext?: SecurityContext;
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
}

export type EnvVar =
  | { readonly name: string; readonly value: string }
  | { readonly name: string; readonly valueFrom: { readonly secretKeyRef: { readonly name: string; readonly key: string } } };

export type Volume =
  | { readonly name: string; readonly emptyDir: { readonly medium: 'Memory'; readonly sizeLimit?: string } }
  | { readonly name: string; readonly secret: { readonly secretName: string } };

export interface VolumeMount {
  readonly name: string;
  readonly mountPath: string;
  /** One key of a Secret volume, mounted as a file at mountPath. */
  readonly subPath?: string;
  readonly readOnly?: true;
}

export type Probe =
  | { readonly httpGet: { readonly path: string; readonly port: number } }
  | { readonly tcpSocket: { readonly port: number } }
  | {
      readonly exec: { readonly command: readonly string[] };
      readonly periodSeconds: number;
      readonly timeoutSeconds?: number;
      readonly failureThreshold?: number;
    };

export interface SecurityContext {
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly readOnlyRootFilesystem?: true;
  readonly allowPrivilegeEscalation?: false;
  readonly capabilities?: { readonly drop: readonly string[] };
}
