-- A sensor gateway signs in to the MQTT broker as itself: the broker's password file holds this
-- PBKDF2-SHA512 hash of its token (Mosquitto's own format), written by the server; never the token.
ALTER TABLE devices ADD COLUMN mqtt_hash TEXT;
