// The applier is Linux-only (libc calls, overlayfs semantics); so are its tests.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
