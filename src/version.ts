// Single source of the version string; the build may inject KASMOS_VERSION via --define.
declare const KASMOS_VERSION: string | undefined;
export const VERSION: string = typeof KASMOS_VERSION === "string" ? KASMOS_VERSION : "0.1.0";
