-- A nearly-full notice names the places nearby with room for the person's vehicle (JSON, as sent).
ALTER TABLE notices ADD COLUMN alternatives TEXT;
