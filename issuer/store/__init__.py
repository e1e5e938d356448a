"""The database: models, migrations, the repository and the records it keeps."""
