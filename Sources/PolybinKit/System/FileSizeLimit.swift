import CPolybin

/// `ulimit -f` (RLIMIT_FSIZE): by default a write past it kills the process with SIGXFSZ,
/// leaving the temporary output behind and no message.
public enum FileSizeLimit {
    /// From now on such a write fails with EFBIG instead: the verb reports it in one
    /// `polybin:` line naming the output, removes what it was writing, and exits 1. The
    /// compilers and linkers polybin starts get the default action back (pb_spawn).
    public static func failWritesInsteadOfDying() { pb_file_size_limit_fails_writes() }
}
