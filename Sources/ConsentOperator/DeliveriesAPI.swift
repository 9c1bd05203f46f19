import ConsentBridge
import ConsentConfiguration
import ConsentStorage
import Foundation
import Hummingbird

/// `/api/deliveries/counts`: per recipient system (R9), how many copies the bridge published to
/// its inbound topic (identified and anonymous), withheld because the consent changed (R5),
/// holds pending, or saw refused by the broker. Counts only: no ids, types or content.
struct DeliveriesAPI: Sendable {
    let store: BridgeStore
    let topics: TopicNames

    /// The statuses and forms every destination reports, zeros included.
    static let statuses = ["published", "withheld", "pending", "failed"]
    static let forms = ["identified", "anonymous"]

    func register(on group: RouterGroup<OperatorRequestContext>) {
        group.get("deliveries/counts") { request, context in
            try context.require(.viewer)
            let parameters = try RejectionsAPI.checked(request.uri.queryParameters, takes: ["from", "until"])
            let (from, until) = try RejectionsAPI.period(parameters)
            let destinations = self.topics.destinations
            let counts = try await self.store.deliveryCounts(
                destinations: destinations.map(\.topic), from: from, until: until)
            return OperatorResponse.json([
                "destinations": destinations.map { destination -> [String: Any] in
                    var body: [String: Any] = ["topic": destination.topic, "system": destination.store.rawValue]
                    for status in Self.statuses {
                        var perForm: [String: Int] = [:]
                        for form in Self.forms {
                            perForm[form] =
                                counts.first {
                                    $0.destinationTopic == destination.topic && $0.status == status && $0.form == form
                                }?.count ?? 0
                        }
                        body[status] = perForm
                    }
                    return body
                }
            ])
        }
    }
}
