/// The one place the version is written: `polybin --version`, `inspect --json` and the
/// CMake package's version file all read it from here (the last through `polybin --version`).
public enum PolybinVersion {
    public static let current = "0.1.0"
}
