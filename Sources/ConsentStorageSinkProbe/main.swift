// Placeholder while the sink crash-test child process is written (helper C, issue 4).
print("ConsentStorageSinkProbe: not implemented yet")
