/** Exit codes, as diff(1) and `kubectl diff` use them. */
export const EXIT_OK = 0;
/** diff: changes are pending. */
export const EXIT_CHANGES = 1;
/** Invalid manifests, failed actions, bad usage. */
export const EXIT_ERROR = 2;
