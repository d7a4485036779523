//! SQLite history shared by the collector and the CGI (schema, migrations, queries).
