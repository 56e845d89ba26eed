/// This release: what `ember --version` prints, recordings carry as their HEADER_VERSION and exports name as
/// their exporter.
public enum EmberVersion {
    public static let string = "ember 0.11.0"
}
