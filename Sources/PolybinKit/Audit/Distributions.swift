/// The runtime versions common distributions ship, to turn "needs GLIBC_2.34" into "runs on
/// Debian 12 and Ubuntu 22.04 and later; not on Debian 11 (glibc 2.31)". One table, dated.
///
/// As of 2026-12-06. Sources: the release's own packages (packages.debian.org for glibc,
/// libstdc++6, libgcc-s1, openssl in buster/bullseye/bookworm/trixie; packages.ubuntu.com for
/// focal/jammy/noble; the RHEL 8 and 9 package manifests at access.redhat.com), the symbol
/// versions of each GCC release (gcc.gnu.org/onlinedocs/libstdc++/manual/abi.html: GCC 8
/// GLIBCXX_3.4.25 CXXABI_1.3.11, 10 3.4.28 1.3.12, 11 3.4.29 1.3.13, 12 3.4.30 1.3.13,
/// 14 3.4.33 1.3.15), and for Debian 12 `objdump -T` of its libraries on the machine that
/// wrote this table. The OpenSSL entry is the release's first upstream version (RHEL 9 and
/// Ubuntu 24.04 update within 3.x later; a program needing more is judged by the first).
/// Ubuntu's libstdc++6 comes from a newer GCC than its default compiler (20.04: GCC 10,
/// 22.04: GCC 12, 24.04: GCC 14).
public struct Distribution: Sendable, Equatable {
    public var family: String
    public var release: String
    /// Version prefix ("GLIBC_", "GLIBCXX_", "CXXABI_", "GCC_", "OPENSSL_") → the newest
    /// version the release provides. A prefix not listed is not judged.
    public var provides: [String: String]
    public var name: String { "\(family) \(release)" }

    public static let asOf = "2026-12-06"

    public static let all: [Distribution] = [
        .init(family: "Debian", release: "10", provides: ["GLIBC_": "2.28", "GLIBCXX_": "3.4.25", "CXXABI_": "1.3.11", "GCC_": "7.0.0", "OPENSSL_": "1.1.1"]),
        .init(family: "Debian", release: "11", provides: ["GLIBC_": "2.31", "GLIBCXX_": "3.4.28", "CXXABI_": "1.3.12", "GCC_": "7.0.0", "OPENSSL_": "1.1.1"]),
        .init(family: "Debian", release: "12", provides: ["GLIBC_": "2.36", "GLIBCXX_": "3.4.30", "CXXABI_": "1.3.13", "GCC_": "12.0.0", "OPENSSL_": "3.0.9"]),
        .init(family: "Debian", release: "13", provides: ["GLIBC_": "2.41", "GLIBCXX_": "3.4.33", "CXXABI_": "1.3.15", "GCC_": "14.0.0", "OPENSSL_": "3.5.0"]),
        .init(family: "Ubuntu", release: "20.04", provides: ["GLIBC_": "2.31", "GLIBCXX_": "3.4.28", "CXXABI_": "1.3.12", "GCC_": "7.0.0", "OPENSSL_": "1.1.1"]),
        .init(family: "Ubuntu", release: "22.04", provides: ["GLIBC_": "2.35", "GLIBCXX_": "3.4.30", "CXXABI_": "1.3.13", "GCC_": "12.0.0", "OPENSSL_": "3.0.2"]),
        .init(family: "Ubuntu", release: "24.04", provides: ["GLIBC_": "2.39", "GLIBCXX_": "3.4.33", "CXXABI_": "1.3.15", "GCC_": "14.0.0", "OPENSSL_": "3.0.13"]),
        .init(family: "RHEL", release: "8", provides: ["GLIBC_": "2.28", "GLIBCXX_": "3.4.25", "CXXABI_": "1.3.11", "GCC_": "7.0.0", "OPENSSL_": "1.1.1"]),
        .init(family: "RHEL", release: "9", provides: ["GLIBC_": "2.34", "GLIBCXX_": "3.4.29", "CXXABI_": "1.3.13", "GCC_": "7.0.0", "OPENSSL_": "3.0.7"]),
    ]

    /// The first need this release lacks ("GLIBC_2.34", "2.31"), nil when it has them all.
    public func lacks(_ needs: [RuntimeVersions.Need]) -> (needed: String, provided: String)? {
        for need in needs {
            let (prefix, numbers) = RuntimeVersions.split(need.newest)
            guard !numbers.isEmpty, let provided = provides[prefix] else { continue }
            if RuntimeVersions.compare(need.newest, prefix + provided) > 0 { return (need.newest, provided) }
        }
        return nil
    }

    /// "runs on Debian 12 and later, Ubuntu 22.04 and later; not on Debian 11 (GLIBC_ 2.31), ..."
    /// A family reads "and later" when every later release of it in the table passes too.
    public static func verdict(_ needs: [RuntimeVersions.Need], among table: [Distribution] = all) -> (runsOn: [String], notOn: [String]) {
        var runsOn: [String] = [], notOn: [String] = []
        var families: [String] = []
        for d in table where !families.contains(d.family) { families.append(d.family) }
        for family in families {
            let releases = table.filter { $0.family == family }
            let fails = releases.map { $0.lacks(needs) }
            for (release, failure) in zip(releases, fails) {
                if let failure { notOn.append("\(release.name) (has \(failure.needed.prefix { !$0.isNumber })\(failure.provided))") }
            }
            if let firstGood = fails.firstIndex(where: { $0 == nil }) {
                let allLater = fails[firstGood...].allSatisfy { $0 == nil }
                if allLater {
                    runsOn.append(firstGood == releases.count - 1 ? releases[firstGood].name : "\(releases[firstGood].name) and later")
                } else {
                    runsOn += zip(releases, fails).filter { $0.1 == nil }.map { $0.0.name }
                }
            }
        }
        return (runsOn, notOn)
    }
}
