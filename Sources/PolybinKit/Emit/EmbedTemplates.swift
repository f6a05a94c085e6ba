/// The templates polybin embed fills (Emit/Templates/embed.{h,c}.in), compiled into polybin
/// by SwiftPM's `.embedInCode`, so the installed polybin is one file and no copy is checked in.
enum EmbedTemplates {
    static let header = String(decoding: PackageResources.embed_h_in, as: UTF8.self)
    static let source = String(decoding: PackageResources.embed_c_in, as: UTF8.self)
}
