/// One of the two data controllers (R9): the health service or NAV.
package enum DataSide: String, Sendable, Hashable, Codable {
    case health, nav
}
