import CPolybin
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// The flavor-name rule (pb_flavor_name_valid), which `polybin build --flavor NAME:...` and
/// the runner's POLYBIN_FLAVOR both call: 1 to 64 of A-Z a-z 0-9 . _ - +.
@Suite struct FlavorNameRule {
    static let accepted = ["a", "x86-64-v3", "fast+avx2", "A.b_c-d+e", String(repeating: "z", count: 64)]
    static let refused = ["", String(repeating: "z", count: 65), "a b", "a/b", "a=b", "a:b", "é", "a\u{0}b", "a\nb", "a,b"]

    @Test func theRuleAcceptsExactlyTheNamedBytes() {
        for name in Self.accepted { #expect(Flavor.isValidName(name), "\(name)") }
        for name in Self.refused { #expect(!Flavor.isValidName(name), "\(name.debugDescription)") }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+".utf8)
        for byte in UInt8(1)...UInt8(255) {
            var one = [CChar(bitPattern: byte)]
            #expect((pb_flavor_name_valid(&one, 1) != 0) == allowed.contains(byte), "byte \(byte)")
        }
    }

    @Test func buildRefusesWhatTheRuleRefuses() throws {
        for name in Self.refused where !name.isEmpty && !name.contains(":") && !name.contains("=") && !name.contains(",") {
            #expect(throws: PolybinError("--flavor \(name):avx2=app: flavor name '\(name)' must be 1-64 characters of letters, digits, '.', '_', '-', '+'")) {
                try Flavor(parsing: "\(name):avx2=app")
            }
        }
        #expect(try Flavor(parsing: "fast+avx2:avx2=app").name == "fast+avx2")
    }
}
