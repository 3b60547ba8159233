// Values as Kubernetes and Knative read them: names (apimachinery's
// validation), quantities (resource.Quantity) and durations (Go's
// time.ParseDuration, which Knative's annotations go through).

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** What a Secret may be called: lower-case DNS labels joined by dots, at most 253 characters. */
export function isDns1123Subdomain(text: string): boolean {
  return text.length <= 253 && text.split('.').every((label) => DNS1123_LABEL.test(label));
}

/** What a Kubernetes Service may be called (Knative makes one per Service and route): starts with a letter, at most 63. */
export function isDns1035Label(text: string): boolean {
  return text.length <= 63 && /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(text);
}

/**
 * A byte count with an optional 1024-based suffix (appsd's memory, podman's
 * and tmpfs's sizes: `512M`, `64m`, `1g`, `4096`, `100b`) as a quantity
 * (`512Mi`); undefined for anything else (`50%` of RAM has no quantity).
 */
export function binaryQuantity(text: string): string | undefined {
  const match = /^([0-9]+)([bkmgt]?)$/i.exec(text);
  if (!match || /^0+$/.test(match[1]!)) return undefined;
  const digits = match[1]!.replace(/^0+/, '');
  const unit = match[2]!.toLowerCase();
  return unit === '' || unit === 'b' ? digits : `${digits}${unit.toUpperCase()}i`;
}

/**
 * CPU cores as a quantity: whole cores as they are, anything finer in
 * millicores, rounded up (Kubernetes takes no finer than 1m; appsd's least,
 * 0.01, is 10m). Rounding through micro-cores first so that 0.29 is 290m, not
 * the 291m that 0.29 * 1000 in binary floating point would give.
 */
export function cpuQuantity(cores: number): string {
  if (Number.isInteger(cores)) return String(cores);
  return `${Math.ceil(Math.round(cores * 1_000_000) / 1000)}m`;
}

/** Milliseconds as a Go duration, as readable as it gets: `30s`, `1m30s`, `1h`, `1s500ms`. */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  const parts: Array<[number, string]> = [
    [Math.floor(ms / 3_600_000), 'h'],
    [Math.floor((ms % 3_600_000) / 60_000), 'm'],
    [Math.floor((ms % 60_000) / 1000), 's'],
    [ms % 1000, 'ms'],
  ];
  return parts.filter(([n]) => n > 0).map(([n, unit]) => `${n}${unit}`).join('');
}
