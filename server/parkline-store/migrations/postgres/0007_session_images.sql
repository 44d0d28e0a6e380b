-- Where the lane keeps the plate images of a session's entry and exit (a reference, not the image).
ALTER TABLE sessions ADD COLUMN entry_image TEXT;
ALTER TABLE sessions ADD COLUMN exit_image TEXT;
