package import ConsentContracts

/// The precomputed policy view of one contract property, arranged as a tree mirroring the body.
///
/// Built once per contract when the catalog is loaded, so `decide` does one dictionary lookup
/// per member and a bit test per field instead of searching the flat rule list.
package final class FieldPlan: Sendable {
    /// The property name (`"[]"` for array items, `""` for the root).
    package let name: String
    /// Pointer pattern for removal reports, e.g. `/meeting/participants/[]`.
    package let pointer: String
    /// The classification (the root is operational).
    package let classification: FieldClassification
    /// Whether a string here is unconstrained (no enum, const, pattern or format): R16 looks
    /// for phone numbers and addresses in it as in free text.
    package let acceptsAnyText: Bool
    /// The consent category's bit; empty when the field has none or an unknown one.
    package let category: ConsentCategories
    /// The category name as written in the contract.
    package let categoryName: String?
    /// The anonymous-form rule, nil when absent or unknown.
    package let generalization: Generalization?
    /// Child properties of an object.
    package let children: [String: FieldPlan]
    /// The same children as a list: objects have a handful of properties, so a linear scan of
    /// short strings beats hashing every key of every event.
    private let childList: [(name: String, length: Int, plan: FieldPlan)]
    /// Plan for array items, when the contract declares them separately.
    package let items: FieldPlan?

    init(
        name: String, pointer: String, classification: FieldClassification, acceptsAnyText: Bool,
        category: ConsentCategories, categoryName: String?, generalization: Generalization?,
        children: [String: FieldPlan], items: FieldPlan?
    ) {
        self.name = name
        self.pointer = pointer
        self.classification = classification
        self.acceptsAnyText = acceptsAnyText
        self.category = category
        self.categoryName = categoryName
        self.generalization = generalization
        self.children = children
        self.items = items
        childList = children.map { ($0.key, $0.key.utf8.count, $0.value) }.sorted { $0.name < $1.name }
    }

    /// The child property `name`, or nil when the contract does not declare it.
    @inline(__always)
    package func child(_ name: String) -> FieldPlan? {
        let length = name.utf8.count
        // Comparing lengths first rejects most candidates without a full string comparison.
        for entry in childList where entry.length == length && entry.name == name { return entry.plan }
        return nil
    }

    /// Builds the tree for a contract's flattened rules.
    package static func tree(for rules: [FieldRule]) -> FieldPlan {
        var byParent: [[String]: [FieldRule]] = [:]
        for rule in rules where !rule.path.isEmpty {
            byParent[Array(rule.path.dropLast()), default: []].append(rule)
        }
        return node(path: [], rule: nil, byParent: byParent)
    }

    private static func node(path: [String], rule: FieldRule?, byParent: [[String]: [FieldRule]]) -> FieldPlan {
        var children: [String: FieldPlan] = [:]
        var items: FieldPlan?
        for child in byParent[path] ?? [] {
            guard let last = child.path.last else { continue }
            let plan = node(path: child.path, rule: child, byParent: byParent)
            if last == "[]" { items = plan } else { children[last] = plan }
        }
        if items == nil, byParent[path + ["[]"]] != nil, let rule {
            // Items without their own rule but with properties: they inherit the array's rule.
            var itemRule = rule
            itemRule.path = path + ["[]"]
            items = node(path: itemRule.path, rule: itemRule, byParent: byParent)
        }
        let categoryName = rule?.consentCategory
        return FieldPlan(
            name: path.last ?? "",
            pointer: path.map { $0 == "[]" ? $0 : JSONPointer.escape($0) }.reduce(into: "") { $0 += "/" + $1 },
            classification: rule?.classification ?? .operational,
            acceptsAnyText: rule?.acceptsAnyText ?? true,
            category: categoryName.flatMap(ConsentCategories.init(name:)) ?? [],
            categoryName: categoryName,
            generalization: rule?.generalization.flatMap(Generalization.init(rawValue:)),
            children: children,
            items: items)
    }
}
