"""The Stasis application: ARI events in, call-flow callbacks out, state reconciled on reconnect."""
