/** What opening a store did to its schema, and the refusal of a schema from newer code. */

/** Schema versions before and after opening (equal when nothing was migrated). */
export interface MigrationReport {
  from: number;
  to: number;
}

/** Raised when the database was migrated by a newer zsync-server than this one; nothing is changed. */
export class NewerSchemaError extends Error {
  constructor(found: number, known: number) {
    super(`database schema version ${found} is newer than this server supports (${known}); upgrade zsync-server`);
    this.name = "NewerSchemaError";
  }
}
