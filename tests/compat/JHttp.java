// The compatibility matrix's HTTP row in Java: com.sun.net.httpserver.HttpServer and
// java.net.http.HttpClient.
// java JHttp server PORT DIR  -- GET /NAME streams DIR/NAME (fixed length, 1 MiB copies);
//                               POST hashes the body, prints and answers "RECV bytes=N sha256=H"
// java JHttp client PORT FILE -- GET /basename(FILE) as an InputStream (hashed), then POST FILE
//                               (BodyPublishers.ofFile); prints "RECV ..." of the download
//                               and "UPLOADED ..." of the server's answer
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.Executors;

public class JHttp {
	static final int BLOCK = 1 << 20;

	static String hashStream(InputStream in) throws Exception {
		MessageDigest md = MessageDigest.getInstance("SHA-256");
		byte[] buf = new byte[BLOCK];
		long n = 0;
		int r;
		while ((r = in.read(buf)) > 0) {
			md.update(buf, 0, r);
			n += r;
		}
		return "RECV bytes=" + n + " sha256=" + HexFormat.of().formatHex(md.digest());
	}

	static void handle(HttpExchange ex, Path dir) throws java.io.IOException {
		try {
			if (ex.getRequestMethod().equals("GET")) {
				Path f = dir.resolve(Path.of(ex.getRequestURI().getPath()).getFileName().toString());
				if (!Files.exists(f)) {
					ex.sendResponseHeaders(404, -1);
					return;
				}
				ex.sendResponseHeaders(200, Files.size(f));
				try (InputStream in = Files.newInputStream(f); OutputStream out = ex.getResponseBody()) {
					byte[] buf = new byte[BLOCK];
					int r;
					while ((r = in.read(buf)) > 0) out.write(buf, 0, r);
				}
			} else {
				String line = hashStream(ex.getRequestBody());
				System.out.println(line);
				System.out.flush();
				byte[] body = (line + "\n").getBytes(StandardCharsets.US_ASCII);
				ex.sendResponseHeaders(200, body.length);
				try (OutputStream out = ex.getResponseBody()) {
					out.write(body);
				}
			}
		} catch (Exception e) {
			e.printStackTrace();
			ex.close();
		}
	}

	public static void main(String[] a) throws Exception {
		if (a[0].equals("server")) {
			Path dir = Path.of(a[2]);
			HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", Integer.parseInt(a[1])), 16);
			s.createContext("/", ex -> handle(ex, dir));
			s.setExecutor(Executors.newFixedThreadPool(4));
			s.start();
			return;
		}
		int port = Integer.parseInt(a[1]);
		Path file = Path.of(a[2]);
		HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
		HttpResponse<InputStream> r = c.send(
			HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/" + file.getFileName())).build(),
			HttpResponse.BodyHandlers.ofInputStream());
		if (r.statusCode() != 200) throw new RuntimeException("GET status " + r.statusCode());
		try (InputStream in = r.body()) {
			System.out.println(hashStream(in));
		}
		HttpResponse<String> p = c.send(
			HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/upload"))
				.POST(HttpRequest.BodyPublishers.ofFile(file)).build(),
			HttpResponse.BodyHandlers.ofString());
		System.out.println(p.body().trim().replaceFirst("^RECV", "UPLOADED"));
	}
}
