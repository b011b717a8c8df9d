-- A channel's cloud region (issue 18): where a `vertex` channel's Vertex AI location is (NULL = us-central1).
ALTER TABLE channels ADD COLUMN region TEXT;
