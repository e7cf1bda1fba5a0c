"""IVR call flows: versioned JSON documents, validated before publish, run on ARI or TwiML."""
