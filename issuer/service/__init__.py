"""The issuer's operations (IssuerService), used by the web app and the CLI alike."""
