pub async fn run_http_function(_name: &str) -> Result<(), lambda_http::Error> {
    Ok(())
}
