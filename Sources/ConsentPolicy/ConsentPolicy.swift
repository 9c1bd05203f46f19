@_exported import ConsentContracts
