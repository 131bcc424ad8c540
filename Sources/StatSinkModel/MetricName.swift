/// The identity of one stat: its full name, its tag-extracted name and its tags.
///
/// Envoy names a stat twice. The full name embeds the tag values
/// (`cluster.service_a.upstream_rq_total`); tag extraction removes them and keeps them as tags
/// (`cluster.upstream_rq_total` with `envoy.cluster_name=service_a`). With
/// `emit_tags_as_labels` the sink writes ``tagExtractedName`` plus ``tags``; without, ``fullName``
/// and no tags.
public struct MetricName: Sendable, Hashable {
    /// The full stat name, tag values included.
    public var fullName: String
    /// The name with tag values extracted.
    public var tagExtractedName: String
    /// The tags, in the order they were extracted (the order they are written in).
    public var tags: [Tag]

    /// Creates a name from its three parts.
    public init(fullName: String, tagExtractedName: String, tags: [Tag] = []) {
        self.fullName = fullName
        self.tagExtractedName = tagExtractedName
        self.tags = tags
    }

    /// Creates the name of an untagged stat, whose two names are the same.
    public init(_ name: String) {
        self.init(fullName: name, tagExtractedName: name)
    }
}

/// One tag of a stat, e.g. `envoy.cluster_name=service_a`.
public struct Tag: Sendable, Hashable {
    /// The tag name (the label name when tags are emitted as labels).
    public var name: String
    /// The tag value.
    public var value: String

    /// Creates a tag.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
